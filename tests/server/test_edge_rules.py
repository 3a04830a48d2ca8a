"""Every value a client can send is bounded at the edge: a walk over every request struct.

Each string field (at any depth: nested structs, list items, dict keys and values, unions)
must carry a maximum length and the control-character rule of ``server.text`` (or, in the
sync package, its twin ``sync.schemas.CONTROL_RULE``); each integer must have both bounds
inside int64 and each float both bounds. The structs are found from the app itself: the
``data`` of every route handler, the sync bodies the sync routes decode by hand, and the
``args`` of every registered sync mutation. Query and path parameters are checked in the
OpenAPI document the app serves. A new field that forgets the rule fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import msgspec
import msgspec.inspect as mi
import pytest
from litestar import Litestar
from litestar.enums import RequestEncodingType

from server.app import create_app, mutation_registry
from server.settings import StorageSettings
from server.storage.backends import create_storage
from server.text import LINE_RULE, TEXT_RULE, describe_violation, multi_line, one_line
from sync.schemas import CONTROL_RULE, AckRequest, MutationIn, PullRequest, PushRequest
from tests.conftest import make_settings

INT64 = (-(2**63), 2**63 - 1)
RULES = (LINE_RULE, TEXT_RULE, CONTROL_RULE)
# Decoded as ``Any`` on purpose: converted later to the mutation's own args struct (walked).
OPEN_FIELDS = {(MutationIn, "args")}
SYNC_BODIES: list[type[Any]] = [PullRequest, PushRequest, AckRequest]


def _app(tmp_path: Path) -> Litestar:
    return create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path}/x.db", tmp_path, "http://x"))


def request_bodies(app: Litestar) -> dict[str, Any]:
    """Every body type a route handler declares (JSON, and the console's forms), by route."""
    bodies: dict[str, Any] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is None:
                continue
            media = getattr(data.kwarg_definition, "media_type", RequestEncodingType.JSON)
            if media in (RequestEncodingType.JSON, RequestEncodingType.URL_ENCODED):
                bodies[f"{sorted(handler.http_methods)} {route.path}"] = data.annotation
    return bodies


def mutation_args(tmp_path: Path) -> dict[str, Any]:
    storage = create_storage(StorageSettings(local_dir=str(tmp_path)), "http://x", "k" * 32)
    registry = mutation_registry(storage)
    return {name: registry.get(name).args_type for name in registry.names()}  # type: ignore[union-attr]


def _problems(info: mi.Type, where: str, seen: set[type[Any]], found: Counter) -> list[str]:
    if isinstance(info, mi.Metadata):
        return _problems(info.type, where, seen, found)
    if isinstance(info, mi.StructType):
        if info.cls in seen:
            return []
        seen.add(info.cls)
        found.structs += 1
        return [
            problem
            for f in info.fields
            if (info.cls, f.name) not in OPEN_FIELDS
            for problem in _problems(f.type, f"{info.cls.__name__}.{f.encode_name}", seen, found)
        ]
    if isinstance(info, mi.StrType):
        found.strings += 1
        missing = []
        if info.max_length is None:
            missing.append(f"{where}: string without max_length")
        if not (info.pattern and info.pattern.startswith(RULES)):
            missing.append(f"{where}: string without the control-character rule")
        return missing
    if isinstance(info, mi.IntType):
        found.numbers += 1
        low = info.ge if info.ge is not None else info.gt
        high = info.le if info.le is not None else info.lt
        if low is None or high is None or low < INT64[0] or high > INT64[1]:
            return [f"{where}: integer without bounds inside int64 ({low}, {high})"]
        return []
    if isinstance(info, mi.FloatType):
        found.numbers += 1
        if (info.ge, info.gt) == (None, None) or (info.le, info.lt) == (None, None):
            return [f"{where}: float without bounds"]
        return []
    if isinstance(info, mi.AnyType):
        return [f"{where}: untyped (Any) value"]
    children: list[tuple[mi.Type, str]] = []
    if isinstance(info, mi.UnionType):
        children = [(t, where) for t in info.types]
    elif isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        children = [(info.item_type, f"{where}[]")]
    elif isinstance(info, mi.TupleType):
        children = [(t, f"{where}[]") for t in info.item_types]
    elif isinstance(info, mi.DictType):
        children = [(info.key_type, f"{where}{{key}}"), (info.value_type, f"{where}{{}}")]
    return [p for t, w in children for p in _problems(t, w, seen, found)]


class Counter:
    def __init__(self) -> None:
        self.structs = 0
        self.strings = 0
        self.numbers = 0


def test_every_request_string_and_number_is_bounded(tmp_path: Path) -> None:
    app = _app(tmp_path)
    roots: dict[str, Any] = {
        **request_bodies(app),
        **{f"sync body {t.__name__}": t for t in SYNC_BODIES},
        **{f"mutation {n}": t for n, t in mutation_args(tmp_path).items()},
    }
    seen: set[type[Any]] = set()
    found = Counter()
    problems = sorted(
        {p for name, t in roots.items() for p in _problems(mi.type_info(t), name, seen, found)}
    )
    print(
        f"\nedge rules: {len(roots)} bodies, {found.structs} request structs, "
        f"{found.strings} string fields, {found.numbers} number fields"
    )
    assert not problems, "\n".join(problems)
    # The walk really reached the app: its bodies, the sync bodies and the mutations.
    assert found.structs >= 80 and found.strings >= 130
    assert {"mutation order.create", "mutation claim.create"} <= roots.keys()


NOT_PARAMETERS = {"data", "request", "socket", "scope", "state", "headers", "cookies", "query"}
# Litestar's own spec pages: the path only picks a renderer, nothing reaches the database.
LIBRARY_ROUTES = {"/schema/{path:str}"}


def test_every_query_and_path_parameter_is_bounded(tmp_path: Path) -> None:
    """The signature model Litestar validates each call with carries the same rules."""
    problems: list[str] = []
    checked = 0
    for route in _app(tmp_path).routes:
        if route.path in LIBRARY_ROUTES:
            continue
        for handler in getattr(route, "route_handlers", None) or [route.route_handler]:  # type: ignore[attr-defined]
            skip = NOT_PARAMETERS | set(handler.resolve_dependencies())
            for field in mi.type_info(handler.signature_model).fields:  # type: ignore[union-attr]
                if field.name in skip:
                    continue
                checked += 1
                where = f"{route.path} {field.name}"
                problems += _problems(field.type, where, set(), Counter())
    assert checked > 60
    assert not problems, "\n".join(sorted(set(problems)))


CONTROLS = [
    "\x00",
    "\x01",
    "\x08",
    "\x0b",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x85",
    "\x9f",
    "\ud800",
    "\udfff",
]


@pytest.mark.parametrize("rule", RULES)
def test_the_rules_refuse_control_characters_and_keep_real_text(rule: str) -> None:
    for bad in CONTROLS:
        for sample in (bad, f"a{bad}", f"{bad}b", f"中文{bad}文本"):
            assert re.search(rule, sample) is None, (rule, sample)
    for good in ("", "农夫山泉 550ml × 24", "Dealer #7 (Hangzhou)", "a-b_c.d:e/f", "😀"):
        assert re.search(rule, good), (rule, good)
    single_line = rule != TEXT_RULE
    for newline in ("a\nb", "ab\n", "a\tb", "a\r\nb"):
        assert (re.search(rule, newline) is None) == single_line, (rule, newline)


def test_server_and_sync_rules_agree() -> None:
    # sync imports nothing of ours, so it states the rule itself; both must refuse the same.
    for c in [*CONTROLS, "\n", "\t", "\r"]:
        assert (re.search(LINE_RULE, c) is None) and (re.search(CONTROL_RULE, c) is None), c


def test_a_format_pattern_keeps_the_rule_and_its_format() -> None:
    meta = one_line(32, min_length=1, pattern=r"^[A-Z0-9]{1,32}$")
    assert meta.pattern is not None
    assert re.search(meta.pattern, "ABC") and not re.search(meta.pattern, "abc")
    assert not re.search(meta.pattern, "ABC\n") and not re.search(meta.pattern, "A\x00")
    assert multi_line(10).max_length == 10


@pytest.mark.parametrize("meta", [one_line(8), multi_line(8)])
def test_violations_are_described_in_both_languages(meta: msgspec.Meta) -> None:
    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.convert("a\x00", Annotated[str, meta])
    described = describe_violation(str(refused.value))
    assert described is not None
    code, zh, en = described
    assert code == "control_characters" and "控制字符" in zh and "control characters" in en
    assert describe_violation("Expected `str` of length <= 3") is None
