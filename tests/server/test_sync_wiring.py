"""Sync wired into the app: scopes from the token, HQ publications reach dealers' pulls,
and a poke published through one API process reaches a socket held by another (Redis)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.db.engine import Database
from server.identity.models import Role
from server.settings import Settings
from tests.factories import bearer, make_dealer, make_regions, make_sku, make_user, make_warehouse

Client = AsyncTestClient[Litestar]
SYNC = {"X-Sync-Protocol": "1"}


async def publish_default_list(client: Client, hq: dict[str, str], prices: dict[str, int]) -> None:
    items = [{"sku": sku, "unitPrice": fen} for sku, fen in prices.items()]
    created = await client.post(
        "/hq/price-lists",
        headers=hq,
        json={"code": "STD", "name": "标准价", "scope": "default", "items": items},
    )
    assert created.status_code == 201, created.text
    published = await client.post(f"/hq/price-lists/{created.json()['id']}/publish", headers=hq)
    assert published.status_code == 200, published.text


async def pull(
    client: Client, headers: dict[str, str], cursor: dict[str, int] | None = None
) -> dict:  # type: ignore[type-arg]
    response = await client.post(
        "/sync/pull", headers={**headers, **SYNC}, json={"cursor": cursor or {}, "limit": 500}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_published_price_list_reaches_the_dealers_pull(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_regions(db)
    dealer = await make_dealer(db, tier="core", regions=("330106",))
    other = await make_dealer(db, tier="growth", regions=("440100",))
    a, b = await make_sku(db, code="SKU-A"), await make_sku(db, code="SKU-B")
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    me = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=dealer))
    them = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=other))
    await publish_default_list(client, hq, {a.code: 1200, b.code: 3400})
    first = await pull(client, me)
    prices = {c["key"]: c["data"]["unitPrice"] for c in first["changes"] if c["entity"] == "price"}
    assert prices == {"STD:SKU-A": 1200, "STD:SKU-B": 3400}
    assert first["cursor"]["price:default"] >= 3
    # A second version that drops SKU-B: the dealer's next pull gets the change and the delete.
    version = await client.post("/hq/price-lists/by-code/STD/versions", headers=hq)
    draft = version.json()["id"]
    put = await client.put(
        f"/hq/price-lists/{draft}/items",
        headers=hq,
        json={"items": [{"sku": "SKU-A", "unitPrice": 1100}]},
    )
    assert put.status_code == 200, put.text
    assert (await client.post(f"/hq/price-lists/{draft}/publish", headers=hq)).status_code == 200
    second = await pull(client, me, first["cursor"])
    changes = {(c["key"], c["op"]) for c in second["changes"] if c["entity"] == "price"}
    assert ("STD:SKU-A", "upsert") in changes
    assert ("STD:SKU-B", "delete") in changes
    # Both dealers see default prices, but neither may ask for the other's own scope.
    foreign = await client.post(
        "/sync/pull",
        headers={**them, **SYNC},
        json={"cursor": {f"dealer:{dealer.id}": 0}, "limit": 10},
    )
    assert foreign.status_code in (200, 403)
    if foreign.status_code == 200:
        assert all(c["scope"] != f"dealer:{dealer.id}" for c in foreign.json()["changes"])


async def test_stock_bands_follow_hq_adjustments(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_regions(db)
    dealer = await make_dealer(db, regions=("330106",))
    warehouse = await make_warehouse(db, region="330100", code="WH-HZ")
    sku = await make_sku(db)
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    me = bearer(settings, await make_user(db, Role.DEALER_STAFF, dealer=dealer))
    start = await pull(client, me)
    assert "stock:WH-HZ" in start["cursor"] or all(
        c["scope"] != "stock:WH-HZ" for c in start["changes"]
    )
    adjusted = await client.post(
        "/hq/inventory/adjustments",
        headers=hq,
        json={
            "warehouseId": str(warehouse.id),
            "skuId": str(sku.id),
            "mode": "receipt",
            "quantity": 40,
            "reason": "到货",
        },
    )
    assert adjusted.status_code in (200, 201), adjusted.text
    after = await pull(client, me, start["cursor"])
    bands = [c for c in after["changes"] if c["scope"] == "stock:WH-HZ"]
    assert bands and bands[-1]["data"]["band"] == "in_stock"
    assert bands[-1]["data"]["skuId"] == str(sku.id)


async def test_sync_errors_are_problem_json(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer = await make_dealer(db)
    me = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=dealer))
    future = await client.post(
        "/sync/pull",
        headers={**me, **SYNC},
        json={"cursor": {f"dealer:{dealer.id}": 999}, "limit": 10},
    )
    assert future.status_code == 409
    assert future.headers["content-type"].startswith("application/problem+json")
    assert future.json()["code"] == "cursor_ahead"
    garbage = await client.post(
        "/sync/pull",
        headers={**me, **SYNC, "Content-Type": "application/msgpack"},
        content=b"\xc1\xff\x00",
    )
    assert (garbage.status_code, garbage.json()["code"]) == (400, "malformed_body")
    anonymous = await client.post("/sync/pull", headers=SYNC, json={"cursor": {}})
    assert anonymous.status_code == 401


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def two_servers(tmp_path: Path, redis_url: str) -> Iterator[tuple[str, str]]:
    """Two API processes on one database and one Redis, as behind a load balancer."""
    env = {
        **os.environ,
        "CHANNELHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/shared.db",
        "CHANNELHUB_REDIS_URL": redis_url,
        "CHANNELHUB_AUTH_JWT_SECRET": "two-servers-" + "t" * 40,
        "CHANNELHUB_STORAGE_LOCAL_DIR": str(tmp_path / "storage"),
        "CHANNELHUB_LOG_LEVEL": "ERROR",
        "CHANNELHUB_DEV_MODE": "false",
    }
    cli = [sys.executable, "-m", "server"]
    subprocess.run([*cli, "migrate"], env=env, check=True, cwd=tmp_path, capture_output=True)
    subprocess.run(
        [*cli, "seed-demo", "--password", "two-servers"],
        env=env,
        check=True,
        cwd=tmp_path,
        capture_output=True,
    )
    ports = [_free_port(), _free_port()]
    processes = [
        subprocess.Popen(
            [*cli, "serve", "--port", str(p)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in ports
    ]
    try:
        for port in ports:
            for _ in range(150):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        yield f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}"
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


async def test_a_poke_crosses_processes_through_redis(two_servers: tuple[str, str]) -> None:
    a, b = two_servers
    async with httpx.AsyncClient() as http:

        async def login(host: str, username: str) -> str:
            answer = await http.post(
                f"http://{host}/auth/login", json={"username": username, "password": "two-servers"}
            )
            answer.raise_for_status()
            return str(answer.json()["accessToken"])

        dealer_token = await login(a, "dealer01")
        hq = {"Authorization": f"Bearer {await login(b, 'hq')}"}
        async with websockets.connect(f"ws://{a}/sync/ws?token={dealer_token}&protocol=1") as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert hello["type"] == "hello"
            assert "price:default" in hello["scopes"]
            created = await http.post(
                f"http://{b}/hq/price-lists",
                headers=hq,
                json={
                    "code": "REDIS",
                    "name": "跨进程",
                    "scope": "default",
                    "priority": 5,
                    "items": [{"sku": "SKU00001", "unitPrice": 999}],
                },
            )
            assert created.status_code == 201, created.text
            published = await http.post(
                f"http://{b}/hq/price-lists/{created.json()['id']}/publish", headers=hq
            )
            assert published.status_code == 200
            deadline = time.monotonic() + 5
            while True:
                message = json.loads(
                    await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))
                )
                if message.get("type") == "poke" and message.get("scope") == "price:default":
                    break
            assert message["version"] >= 2
