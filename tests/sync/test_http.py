"""HTTP endpoints: JSON and MessagePack, protocol versions, errors as problem+json."""

from __future__ import annotations

import httpx
import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sync import SyncPrincipal, node_lags
from sync.tables import sync_client
from tests.sync.conftest import principal, set_stock

Client = tuple[httpx.AsyncClient, dict[str, SyncPrincipal]]
V1 = {"X-Sync-Protocol": "1", "Authorization": "Bearer t1"}
MSGPACK = {**V1, "Content-Type": "application/msgpack", "Accept": "application/msgpack"}


def place(mid: int, key: str, qty: int = 1) -> dict[str, object]:
    return {
        "mid": mid,
        "name": "order.place",
        "args": {"order_id": key, "sku": "tea", "qty": qty},
        "businessKey": key,
    }


async def test_push_then_pull_in_json(
    http: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    client, tokens = http
    tokens["t1"] = principal()
    await set_stock(sessions, "tea", 5)
    response = await client.post(
        "/sync/push", json={"clientId": "c1", "mutations": [place(1, "o1")]}, headers=V1
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["results"] == [
        {
            "mid": 1,
            "status": "applied",
            "reason": None,
            "detail": {"orderId": "o1"},
            "replayed": False,
        }
    ]
    assert body["upgradeRequired"] is False
    response = await client.post("/sync/pull", json={"cursor": {}, "clientId": "c1"}, headers=V1)
    assert response.status_code == 200
    pulled = response.json()
    assert sorted(pulled["resets"]) == ["dealer:d1", "stock:main"]
    assert {(c["entity"], c["key"]) for c in pulled["changes"]} == {
        ("mutation_result", "c1:1"),
        ("order", "o1"),
        ("stock", "tea"),
    }
    assert pulled["hasMore"] is False and pulled["cursor"] == {"dealer:d1": 2, "stock:main": 1}
    stock = next(c for c in pulled["changes"] if c["entity"] == "stock")
    assert stock["data"] == {"qty": 4}
    # The pull acknowledged the cursor it carried (empty): the node is tracked at 0.
    async with sessions() as session:
        lags = await node_lags(session)
    assert {(n.node_id, n.scope, n.acked_version) for n in lags} == {
        ("c1", "dealer:d1", 0),
        ("c1", "stock:main", 0),
    }


async def test_msgpack_round_trip(http: Client, sessions: async_sessionmaker[AsyncSession]) -> None:
    client, tokens = http
    tokens["t1"] = principal()
    await set_stock(sessions, "tea", 5)
    push = {"clientId": "c1", "mutations": [place(1, "o1", 2)], "protocol": 1}
    response = await client.post(
        "/sync/push", content=msgspec.msgpack.encode(push), headers=MSGPACK
    )
    assert response.headers["content-type"].startswith("application/msgpack")
    assert msgspec.msgpack.decode(response.content)["results"][0]["status"] == "applied"
    pull = {"cursor": {"stock:main": 0}}
    response = await client.post(
        "/sync/pull", content=msgspec.msgpack.encode(pull), headers=MSGPACK
    )
    body = msgspec.msgpack.decode(response.content)
    assert [c["data"] for c in body["changes"] if c["scope"] == "stock:main"] == [{"qty": 3}]


async def test_malformed_bodies_are_clean_400s_and_invalid_ones_422s(http: Client) -> None:
    client, tokens = http
    tokens["t1"] = principal()
    response = await client.post("/sync/pull", content=b"\xc1\xff\x00", headers=MSGPACK)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "malformed_body" and problem["message"]["zh-CN"]
    response = await client.post(
        "/sync/push", content=b'{"clientId": "c1", "mutations": [', headers=V1
    )
    assert response.status_code == 400 and response.json()["code"] == "malformed_body"
    response = await client.post("/sync/push", json={"clientId": "c1"}, headers=V1)
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"


async def test_old_protocol_pull_needs_upgrade_but_push_is_applied(
    http: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    client, tokens = http
    tokens["t1"] = principal()
    await set_stock(sessions, "tea", 5)
    old = {"X-Sync-Protocol": "0", "Authorization": "Bearer t1"}
    response = await client.post("/sync/pull", json={"cursor": {}}, headers=old)
    assert response.status_code == 426 and response.json()["code"] == "upgrade_required"
    response = await client.post(
        "/sync/ack", json={"clientId": "c1", "cursor": {}}, headers={"Authorization": "Bearer t1"}
    )
    assert response.status_code == 426
    response = await client.post(
        "/sync/push", json={"clientId": "c1", "mutations": [place(1, "o1")]}, headers=old
    )
    assert response.status_code == 200
    assert response.json()["upgradeRequired"] is True
    assert response.json()["results"][0]["status"] == "applied"


async def test_errors_from_services_keep_status_and_code(http: Client) -> None:
    client, tokens = http
    tokens["t1"] = principal()
    response = await client.post(
        "/sync/push", json={"clientId": "c1", "mutations": [place(3, "o3")]}, headers=V1
    )
    assert response.status_code == 409 and response.json()["expectedMid"] == 1
    response = await client.post("/sync/pull", json={"cursor": {"stock:main": 9}}, headers=V1)
    assert response.status_code == 409 and response.json()["code"] == "cursor_ahead"


async def test_ack_moves_forward_only(
    http: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    client, tokens = http
    tokens["t1"] = principal()
    for cursor in ({"stock:main": 3}, {"stock:main": 1}):
        response = await client.post(
            "/sync/ack", json={"clientId": "c1", "cursor": cursor}, headers=V1
        )
        assert response.status_code == 204
    async with sessions() as session:
        lags = await node_lags(session, scope="stock:main")
    assert [(n.node_id, n.acked_version) for n in lags] == [("c1", 3)]


async def test_an_error_answer_leaves_no_writes_behind(
    http: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The documented session dependency rolls back when a sync error is raised."""
    client, tokens = http
    tokens["t1"] = principal()
    response = await client.post(
        "/sync/push", json={"clientId": "fresh", "mutations": [place(2, "o2")]}, headers=V1
    )
    assert response.status_code == 409
    async with sessions() as session:
        rows = (await session.execute(select(sync_client.c.client_id))).all()
    assert rows == []


async def test_large_answers_are_gzipped_for_clients_that_accept_it(
    http: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    client, tokens = http
    tokens["t1"] = principal()
    await set_stock(sessions, "tea", 100)
    orders = [place(n, f"order-{n:03d}") for n in range(1, 31)]
    response = await client.post(
        "/sync/push", json={"clientId": "c1", "mutations": orders}, headers=V1
    )
    assert response.status_code == 200
    pull = {"cursor": {}, "clientId": "c1"}
    plain = await client.post(
        "/sync/pull", json=pull, headers={**V1, "Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    assert plain.num_bytes_downloaded == len(plain.content) >= 1024
    for accept in ("gzip, deflate", "br;q=1, gzip;q=0.5", "*"):
        packed = await client.post(
            "/sync/pull", json=pull, headers={**V1, "Accept-Encoding": accept}
        )
        assert packed.headers["content-encoding"] == "gzip", accept
        assert "Accept-Encoding" in packed.headers["vary"]
        assert packed.json() == plain.json()
        assert packed.num_bytes_downloaded < len(plain.content) / 3
    refused = await client.post(
        "/sync/pull", json=pull, headers={**V1, "Accept-Encoding": "gzip;q=0"}
    )
    assert "content-encoding" not in refused.headers
    # A small answer (a push's one result) is not worth compressing.
    pushed = await client.post(
        "/sync/push", json={"clientId": "c1", "mutations": [place(31, "o31")]}, headers=V1
    )
    assert pushed.status_code == 200 and "content-encoding" not in pushed.headers
