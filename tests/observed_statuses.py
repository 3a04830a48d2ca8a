"""Every status the suite observes for an operation must be one its OpenAPI entry documents.

The test clients' transports are wrapped once per session: each answer is recorded as
(method, path, status). At the end, paths are matched to the spec's path templates and any
status an operation answered without documenting it fails the run (``check``), with a count of
the operations whose documented responses cover what the tests observed.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import wraps
from pathlib import Path
from typing import Any

from litestar.testing.transport import TestClientTransport

SPEC = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "patch")
Observation = tuple[str, str, int]

observed: set[Observation] = set()


def install() -> None:
    """Record every answer the Litestar test clients get (sync and async)."""
    plain = TestClientTransport.handle_request
    asynchronous = TestClientTransport.handle_async_request

    @wraps(plain)
    def handle_request(self: Any, request: Any) -> Any:
        response = plain(self, request)
        observed.add((request.method.lower(), request.url.path, response.status_code))
        return response

    @wraps(asynchronous)
    async def handle_async_request(self: Any, request: Any) -> Any:
        response = await asynchronous(self, request)
        observed.add((request.method.lower(), request.url.path, response.status_code))
        return response

    TestClientTransport.handle_request = handle_request  # type: ignore[method-assign]
    TestClientTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}/?$")


def documented(spec: Mapping[str, Any]) -> dict[tuple[str, str], set[int]]:
    """(method, path template) -> the statuses its responses document."""
    return {
        (method, path): {int(s) for s in operation.get("responses", {}) if s.isdigit()}
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def template_for(spec: Mapping[str, Any], path: str) -> str | None:
    """The spec's path template a concrete path belongs to (literal segments win)."""
    matches = [t for t in spec["paths"] if _pattern(t).match(path)]
    return min(matches, key=lambda t: (t.count("{"), -len(t)), default=None)


def compare(
    spec: Mapping[str, Any], seen: Iterable[Observation]
) -> tuple[dict[tuple[str, str], set[int]], dict[tuple[str, str], set[int]]]:
    """(statuses observed per operation, statuses observed but not documented per operation)."""
    docs = documented(spec)
    per_operation: dict[tuple[str, str], set[int]] = defaultdict(set)
    for method, path, status in seen:
        template = template_for(spec, path)
        if template is None or (method, template) not in docs:
            continue  # not an operation of the spec (docs assets, /metrics, 405s, 404s)
        per_operation[(method, template)].add(status)
    missing = {
        op: statuses - docs[op] for op, statuses in per_operation.items() if statuses - docs[op]
    }
    return dict(per_operation), missing


def report() -> tuple[list[str], bool]:
    """Lines for the terminal summary, and whether every observed status is documented."""
    if not observed:
        return [], True
    spec = json.loads(SPEC.read_text())
    per_operation, missing = compare(spec, observed)
    docs = documented(spec)
    lines = [
        f"contract: {len(docs)} operations, "
        f"{sum(len(s) for s in docs.values())} documented statuses; "
        f"{len(per_operation)} operations observed with "
        f"{sum(len(s) for s in per_operation.values())} distinct statuses; "
        f"{len(per_operation) - len(missing)} of {len(per_operation)} match their documented "
        f"responses; {sum(len(s) for s in missing.values())} mismatches"
    ]
    lines += [
        f"  {method.upper()} {path}: observed {sorted(statuses)} not documented"
        for (method, path), statuses in sorted(missing.items())
    ]
    return lines, not missing
