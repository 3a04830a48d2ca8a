"""What a client can send is refused at the edge, never answered 500, on both databases.

The classes seen in the black-box run: a NUL in any text field (PostgreSQL refuses 0x00),
strings longer than their column, a ``text/plain`` body parsed as JSON, out-of-range numbers.
Each is answered 422 (415 for the media type) naming the field, and nothing is stored.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from server.db.engine import Database
from server.identity.models import Role
from server.regions.models import Region
from server.settings import Settings
from sync.tables import sync_client, sync_mutation
from tests.factories import bearer, make_dealer, make_regions, make_user

Client = AsyncTestClient[Litestar]
SYNC = {"X-Sync-Protocol": "1"}
EN = {"Accept-Language": "en"}
NASTY = ["a\x00b", "\x00", "x\x1b[31m", "tab\tin a name", "line\nbreak", "del\x7f", "c1\x85"]


def refused(response: Any, field: str, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    keys = [e.get("key", "") for e in problem.get("errors", [])]
    assert any(field in k for k in keys), (field, problem)
    return problem


async def count(db: Database, table: Any) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(table)) or 0)


async def test_control_characters_in_hq_bodies(
    client: Client, db: Database, settings: Settings
) -> None:
    hq = {**bearer(settings, await make_user(db, Role.HQ_ADMIN)), **EN}
    for bad in NASTY:
        body = {"code": "330000", "name": bad, "level": "province"}
        problem = refused(await client.post("/hq/regions", json=body, headers=hq), "name")
        error = next(e for e in problem["errors"] if e["key"] == "name")
        assert error["code"] == "control_characters", error
        assert "control characters" in error["message"]
    assert await count(db, Region) == 0
    zh = await client.post(
        "/hq/regions",
        json={"code": "330000", "name": "浙\x00江", "level": "province"},
        headers={**hq, "Accept-Language": "zh-CN"},
    )
    assert "控制字符" in refused(zh, "name")["errors"][0]["message"]
    promotion = {
        "code": "P1",
        "name": "满减\x00",
        "mechanic": {"kind": "percent_off", "percentOffBp": 500},
    }
    refused(await client.post("/hq/promotions", json=promotion, headers=hq), "name")
    feed = {
        "batchId": "b-1",
        "items": [{"warehouseCode": "W\x00", "skuCode": "S", "mode": "set", "quantity": 1}],
    }
    refused(await client.post("/hq/inventory/feed", json=feed, headers=hq), "warehouseCode")
    login = await client.post("/auth/login", json={"username": "hq\x00", "password": "x" * 8})
    refused(login, "username")


async def test_multi_line_text_keeps_newlines_and_one_line_text_refuses_them(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_regions(db)
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    body = {
        "code": "WH-1",
        "name": "杭州仓",
        "regionCode": "330100",
        "address": "西湖区\n文三路 1 号",
    }
    created = await client.post("/hq/warehouses", json=body, headers=hq)
    assert created.status_code == 201, created.text
    assert created.json()["address"] == "西湖区\n文三路 1 号"
    with_nul = {**body, "code": "WH-2", "address": "西湖区\x00"}
    refused(await client.post("/hq/warehouses", json=with_nul, headers=hq), "address")
    two_lines = {**body, "code": "WH-3", "name": "杭州\n仓"}
    refused(await client.post("/hq/warehouses", json=two_lines, headers=hq), "name")


async def test_too_long_for_the_column(client: Client, db: Database, settings: Settings) -> None:
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    body = {"code": "330000", "name": "浙" * 65, "level": "province"}
    refused(await client.post("/hq/regions", json=body, headers=hq), "name")
    refused(await client.get("/hq/dealers", params={"q": "q" * 65}, headers=hq), "q")
    refused(await client.get("/hq/dealers", params={"q": "a\x00"}, headers=hq), "q")
    refused(await client.get("/hq/regions/33%000000", headers=hq), "code")
    assert await count(db, Region) == 0


async def test_dealer_bodies(client: Client, db: Database, settings: Settings) -> None:
    await make_regions(db)
    dealer = await make_dealer(db, regions=("330100",))
    me = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=dealer))
    address = {
        "contactName": "张三",
        "contactPhone": "13800000000",
        "regionCode": "330106",
        "detail": "文三路\x00 1 号",
    }
    refused(await client.post("/mp/addresses", json=address, headers=me), "detail")
    cart = {"lines": [{"sku": "W\x00", "qty": 1}]}
    refused(await client.post("/mp/cart/price", json=cart, headers=me), "sku")
    order = {"id": "01890a5d-ac96-774b-bcce-b302099a8057", "note": "尽快\x00"}
    refused(await client.post("/mp/orders", json=order, headers=me), "note")
    quote = {"lines": [{"sku": "W", "qty": 1}], "note": "x" * 501}
    refused(await client.post("/mp/quotes", json=quote, headers=me), "note")


async def test_a_body_that_is_not_json_is_415(
    client: Client, db: Database, settings: Settings
) -> None:
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    body = b'{"code": "330000", "name": "x", "level": "province"}'
    for media in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        answer = await client.post(
            "/hq/regions", content=body, headers={**hq, "Content-Type": media}
        )
        assert answer.status_code == 415, (media, answer.text)
        assert answer.json()["code"] == "unsupported_media_type"
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert await count(db, Region) == 0
    for media in ("application/json", "application/json; charset=utf-8"):
        answer = await client.put(
            "/hq/regions/330000", content=b'{"name": "y"}', headers={**hq, "Content-Type": media}
        )
        assert answer.status_code == 404, answer.text  # parsed as JSON, then not found
    dealer = await make_dealer(db)
    me = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=dealer))
    pull = await client.post(
        "/sync/pull",
        content=b'{"cursor": {}}',
        headers={**me, **SYNC, "Content-Type": "text/plain"},
    )
    assert (pull.status_code, pull.json()["code"]) == (415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/sync/pull", {"cursor": {}, "limit": -1}, "limit"),
        ("/sync/pull", {"cursor": {}, "limit": 2**70}, "limit"),
        ("/sync/pull", {"cursor": {}, "limit": 0}, "limit"),
        ("/sync/pull", {"cursor": {}, "clientId": "c" * 65}, "clientId"),
        ("/sync/pull", {"cursor": {}, "clientId": "c\x00"}, "clientId"),
        ("/sync/pull", {"cursor": {"s\x00": 1}}, "cursor"),
        ("/sync/pull", {"cursor": {"s": 2**63}}, "cursor"),
        ("/sync/pull", {"cursor": {"s" * 201: 1}}, "cursor"),
        ("/sync/ack", {"clientId": "c" * 65, "cursor": {}}, "clientId"),
        ("/sync/ack", {"clientId": "c\x00", "cursor": {}}, "clientId"),
        ("/sync/push", {"clientId": "c" * 65, "mutations": []}, "clientId"),
        ("/sync/push", {"clientId": "c1", "mutations": [{"mid": 1, "name": "x\x00"}]}, "name"),
        ("/sync/push", {"clientId": "c1", "mutations": [{"mid": 1, "name": "n" * 101}]}, "name"),
        ("/sync/push", {"clientId": "c1", "mutations": [{"mid": 2**63, "name": "n"}]}, "mid"),
        (
            "/sync/push",
            {"clientId": "c1", "mutations": [{"mid": 1, "name": "n", "businessKey": "k" * 201}]},
            "businessKey",
        ),
        (
            "/sync/push",
            {"clientId": "c1", "mutations": [{"mid": 1, "name": "n", "businessKey": "k\x00"}]},
            "businessKey",
        ),
    ],
)
async def test_sync_bodies_are_bounded(
    client: Client, db: Database, settings: Settings, path: str, body: Any, field: str
) -> None:
    dealer = await make_dealer(db)
    me = {**bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=dealer)), **SYNC}
    answer = await client.post(path, json=body, headers={**me, **EN})
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "invalid_request"
    assert any(field in e["key"] for e in problem["errors"]), problem
    if "\x00" in str(body):
        assert problem["errors"][0]["code"] == "control_characters"
        assert "control characters" in problem["detail"]
    assert await count(db, sync_client) == 0
    assert await count(db, sync_mutation) == 0


# b"\xb2" reads as "²" (latin-1): isdigit() but not int(); 5000 digits: beyond int().
@pytest.mark.parametrize("header", [b"\xb2", b"9" * 5000, b"x"])
async def test_a_strange_protocol_header_is_not_a_server_error(
    client: Client, db: Database, settings: Settings, header: bytes
) -> None:
    dealer = await make_dealer(db)
    me = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=dealer))
    headers = {k.encode(): v.encode() for k, v in me.items()} | {b"X-Sync-Protocol": header}
    answer = await client.post("/sync/pull", json={"cursor": {}}, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (426, "upgrade_required"), answer.text
