"""Redis is an accelerator, not a single point of failure (issue 14).

Each test starts its own ``redis-server`` on a free port and kills it (SIGKILL); the shared
Redis is never touched. Figures are printed: time to recover, nodes behind afterwards.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from server.app import create_app
from server.db.engine import Database
from server.identity.models import Role
from sync import Hub, RedisPokeBackend
from tests.conftest import make_settings, unavailable
from tests.factories import make_user
from tests.fakes.wechat import FakeWechat
from tests.faults.services import ThrowawayRedis

Message = dict[str, Any]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    if not ThrowawayRedis.available():
        unavailable("redis-server", "not installed")
    server = ThrowawayRedis(tmp_path)
    server.start()
    yield server
    server.kill()


async def test_without_redis_login_works_throttles_locally_and_ready_is_degraded(
    database_url: str,
    tmp_path: Path,
    fake_wechat: FakeWechat,
    db: Database,
    redis_server: ThrowawayRedis,
) -> None:
    await make_user(db, Role.HQ_ADMIN, username="boss", password="s3cret-pass")
    settings = make_settings(
        database_url, tmp_path, fake_wechat.base_url, redis_url=redis_server.url
    )
    async with AsyncTestClient(create_app(settings), base_url="http://a.local") as client:
        assert (await client.get("/ready")).json()["status"] == "ok"
        redis_server.kill()
        ready = await client.get("/ready")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert (body["status"], body["degraded"]) == ("degraded", ["redis"])
        assert body["checks"]["database"] == "ok"
        metrics = (await client.get("/metrics")).text
        assert 'channelhub_dependency_up{dependency="redis"} 0.0' in metrics
        assert "channelhub_ready_state 1.0" in metrics
        good = {"username": "boss", "password": "s3cret-pass"}
        login = await client.post("/auth/login", json=good)
        assert login.status_code == 201, login.text
        for _ in range(5):
            wrong = await client.post("/auth/login", json={**good, "password": "bad"})
            assert wrong.status_code == 401, wrong.text
        blocked = await client.post("/auth/login", json=good)
        assert (blocked.status_code, blocked.json()["code"]) == (429, "login_throttled")
        redis_server.start()
        started = time.monotonic()
        while (await client.get("/ready")).json()["status"] != "ok":
            assert time.monotonic() - started < 10, "never ready again"
            await asyncio.sleep(0.2)
        metrics = (await client.get("/metrics")).text
        assert 'channelhub_dependency_up{dependency="redis"} 1.0' in metrics
        assert "channelhub_ready_state 2.0" in metrics


class Node:
    """A connected client: the versions it was poked with, per scope."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    async def send(self, message: Message) -> None:
        body = json.loads(message["text"])
        if body.get("type") == "poke":
            self.seen[body["scope"]] = max(body["version"], self.seen.get(body["scope"], 0))


async def wait_until(check: Any, seconds: float) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_pokes_published_while_redis_is_down_reach_every_node_when_it_returns(
    redis_server: ThrowawayRedis,
) -> None:
    committed: dict[str, int] = {"price:330100": 0, "promo:core": 0}  # what sync_scope holds

    async def versions(scopes: frozenset[str]) -> Mapping[str, int]:
        return {s: v for s, v in committed.items() if s in scopes}

    def hub() -> Hub:
        backend = RedisPokeBackend(redis_server.url, "test:faults:pokes", timeout=0.5)
        return Hub(backend, heartbeat_interval=3600, versions=versions)

    api1, api2, worker = hub(), hub(), hub()
    for h in (api1, api2, worker):
        await h.start()
    try:
        on1 = [Node() for _ in range(25)]
        on2 = [Node() for _ in range(25)]
        for node in on1:
            api1.connect("ws", {"price:330100", "promo:core"}, node.send)
        for node in on2:
            api2.connect("ws", {"price:330100", "promo:core"}, node.send)
        redis_server.kill()
        await asyncio.sleep(0.3)
        committed["price:330100"] = 5  # HQ publishes a price list through api1
        await api1.publish({"price:330100": 5})
        local = await wait_until(lambda: all(n.seen.get("price:330100") == 5 for n in on1), 1)
        committed["promo:core"] = 3  # a job in the worker publishes a promotion
        await worker.publish({"promo:core": 3})
        await asyncio.sleep(1.5)
        assert all("price:330100" not in n.seen for n in on2)  # no path to api2 yet
        assert api1.degraded and api2.degraded
        redis_server.start()
        back = time.monotonic()

        def caught_up() -> bool:
            return all(n.seen == committed for n in on1 + on2)

        await wait_until(caught_up, 8)
        recovery = time.monotonic() - back
        behind = sum(n.seen != committed for n in on1 + on2)
        assert behind == 0
        await wait_until(lambda: not (api1.degraded or api2.degraded or worker.degraded), 5)
        print(
            f"redis down: local poke after {local * 1000:.0f} ms; all 50 nodes current "
            f"{recovery:.2f} s after Redis returned; nodes behind: {behind}"
        )
    finally:
        for h in (api1, api2, worker):
            await h.stop()


async def test_a_publish_that_fails_while_the_subscription_holds_leaves_no_lasting_degradation(
    redis_server: ThrowawayRedis,
) -> None:
    """Seen with two replicas: a publish failing just after the subscription came back marked
    the channel down for good (only a re-subscription marked it up again): /ready said degraded
    forever. Here Redis stops taking writes for a while, the subscription holds."""
    backend = RedisPokeBackend(redis_server.url, "test:faults:pokes", timeout=0.5)
    api, other = (
        Hub(backend, heartbeat_interval=3600),
        Hub(
            RedisPokeBackend(redis_server.url, "test:faults:pokes", timeout=0.5),
            heartbeat_interval=3600,
        ),
    )
    await api.start()
    await other.start()
    admin = Redis.from_url(redis_server.url)
    try:
        node = Node()
        other.connect("ws", {"price:330100"}, node.send)
        assert not api.degraded
        await admin.execute_command("CLIENT", "PAUSE", "1500", "WRITE")
        await api.publish({"price:330100": 4})  # the write times out: kept for later
        assert api.degraded
        assert backend.healthy  # the subscription never dropped
        recovered = await wait_until(lambda: not api.degraded, 6)
        await wait_until(lambda: node.seen.get("price:330100") == 4, 2)
        print(f"publish failed while subscribed: degraded for {recovered:.2f} s, poke relayed")
    finally:
        await admin.aclose()
        await api.stop()
        await other.stop()
