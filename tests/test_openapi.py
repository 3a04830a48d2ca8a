"""The committed spec is the contract: it must be what the app serves, and complete."""

from __future__ import annotations

import json
from pathlib import Path

from server.cli import render_openapi

SPEC = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def test_committed_spec_is_what_the_app_serves() -> None:
    served = render_openapi()
    assert SPEC.read_text() == served, (
        "openapi/openapi.json drifted: run `make openapi` and commit it"
    )


def test_every_operation_has_a_summary_and_mobile_routes_avoid_patch() -> None:
    spec = json.loads(SPEC.read_text())
    assert spec["openapi"].startswith("3.1")
    operations = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "delete", "patch", "head", "options"}:
                continue
            operations += 1
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            if path.startswith("/mp/"):
                assert method != "patch", f"wx.request has no PATCH: {path}"
    assert operations > 20
