"""Realtime pokes: coalescing, slow consumers, Redis across hubs, WebSocket and SSE live."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sync import Hub, RedisPokeBackend, SyncPrincipal
from sync.http import hold_connection
from tests.sync.conftest import REDIS_URL, LiveServer, principal, set_stock

Message = dict[str, Any]


class Sink:
    """A connection's ASGI ``send`` that records what it was sent."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.arrived = asyncio.Event()

    async def send(self, message: Message) -> None:
        self.messages.append(message)
        self.arrived.set()

    def pokes(self) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for m in self.messages:
            body = json.loads(m["text"])
            if body["type"] == "poke":
                out.append((body["scope"], body["version"]))
        return out


class StuckSink:
    """A client that stopped reading: like uvicorn's send when the transport paused writing."""

    def __init__(self) -> None:
        self.calls = 0
        self.never = asyncio.Event()

    async def send(self, message: Message) -> None:
        self.calls += 1
        await self.never.wait()


@pytest.fixture
async def started() -> AsyncIterator[Hub]:
    hub = Hub(heartbeat_interval=3600, send_timeout=0.2, close_timeout=0.2)
    await hub.start()
    yield hub
    await hub.stop()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_pokes_reach_subscribers_of_the_scope_only_and_coalesce(started: Hub) -> None:
    a, b = Sink(), Sink()
    started.connect("ws", {"price:east", "stock:1"}, a.send)
    started.connect("ws", {"price:west"}, b.send)
    # Three pokes for one scope before the loop runs: the connection gets the latest only.
    started.deliver({"price:east": 1})
    started.deliver({"price:east": 3, "price:west": 1})
    started.deliver({"price:east": 2})
    await settle()
    assert a.pokes() == [("price:east", 3)]
    assert b.pokes() == [("price:west", 1)]
    # Encoded once: both connections of one kind share the very same message object.
    c = Sink()
    started.connect("ws", {"price:west"}, c.send)
    started.deliver({"price:west": 2})
    await settle()
    assert b.messages[-1] is c.messages[-1]


async def test_slow_consumer_does_not_stall_others_and_is_dropped(started: Hub) -> None:
    stuck = StuckSink()
    stuck_conn = started.connect("ws", {"s"}, stuck.send)
    healthy = [Sink() for _ in range(50)]
    for sink in healthy:
        started.connect("ws", {"s"}, sink.send)
    for version in range(1, 21):
        started.deliver({"s": version})
        await settle()
        assert all(sink.pokes()[-1] == ("s", version) for sink in healthy)
    assert stuck.calls == 1  # one parked send, the rest coalesced behind it
    await asyncio.sleep(0.25)
    started.deliver({"s": 99})
    await settle()
    assert stuck_conn.closed and started.dropped == 1
    assert started.connection_count() == 50


async def test_heartbeat_reaches_idle_connections(started: Hub) -> None:
    sink = Sink()
    started.connect("sse", {"s"}, sink.send)
    started.heartbeat()
    await settle()
    assert sink.messages == [
        {"type": "http.response.body", "body": b": heartbeat\n\n", "more_body": True}
    ]


async def _redis_or_skip() -> None:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, RedisError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis unreachable in CI: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_redis_fan_out_across_two_hubs() -> None:
    await _redis_or_skip()
    channel = f"test:sync:pokes:{os.getpid()}"
    api1 = Hub(RedisPokeBackend(REDIS_URL, channel), heartbeat_interval=3600)
    api2 = Hub(RedisPokeBackend(REDIS_URL, channel), heartbeat_interval=3600)
    await api1.start()
    await api2.start()
    try:
        on1, on2 = Sink(), Sink()
        api1.connect("ws", {"price:east"}, on1.send)
        api2.connect("ws", {"price:east"}, on2.send)
        await api1.publish({"price:east": 7})
        await asyncio.wait_for(on2.arrived.wait(), 2)
        await asyncio.wait_for(on1.arrived.wait(), 2)
        assert on1.pokes() == on2.pokes() == [("price:east", 7)]
    finally:
        await api1.stop()
        await api2.stop()


async def _push_order(server: LiveServer, key: str) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            "/sync/push",
            json={
                "clientId": "c1",
                "mutations": [
                    {
                        "mid": 1,
                        "name": "order.place",
                        "businessKey": key,
                        "args": {"order_id": key, "sku": "tea", "qty": 1},
                    }
                ],
            },
            headers={"Authorization": "Bearer t1", "X-Sync-Protocol": "1"},
        )
        assert response.status_code == 200


async def test_websocket_poke_after_commit(
    live: tuple[LiveServer, dict[str, SyncPrincipal]], sessions: async_sessionmaker[AsyncSession]
) -> None:
    server, tokens = live
    tokens["t1"] = principal()
    await set_stock(sessions, "tea", 3)
    ws_url = server.url.replace("http", "ws") + "/sync/ws?token=t1&protocol=1"
    async with websockets.connect(ws_url, compression=None) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 2))
        assert hello["type"] == "hello" and hello["scopes"] == ["dealer:d1", "stock:main"]
        await _push_order(server, "o1")
        pokes = {}
        while len(pokes) < 2:
            message = json.loads(await asyncio.wait_for(ws.recv(), 2))
            if message["type"] == "poke":
                pokes[message["scope"]] = message["version"]
        assert pokes == {"dealer:d1": 2, "stock:main": 1}


async def test_websocket_rejects_bad_token_and_old_protocol(
    live: tuple[LiveServer, dict[str, SyncPrincipal]],
) -> None:
    server, tokens = live
    tokens["t1"] = principal()
    base = server.url.replace("http", "ws") + "/sync/ws"
    # Accepted, told why in an error frame, closed with 4000 + the status: a refusal in the
    # handshake would reach the client only as a failed connection.
    for query, code, status in (
        ("?token=nope", "unauthorized", 4401),
        ("?token=t1&protocol=0", "upgrade_required", 4426),
        ("?token=t1&protocol=x", "invalid_request", 4422),
    ):
        async with websockets.connect(base + query) as ws:
            error = json.loads(await asyncio.wait_for(ws.recv(), 2))
            assert (error["type"], error["code"], error["status"]) == ("error", code, status - 4000)
            with pytest.raises(websockets.exceptions.ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 2)
            assert info.value.rcvd is not None, query
            assert (info.value.rcvd.code, info.value.rcvd.reason) == (status, code)


async def test_sse_poke_after_commit(
    live: tuple[LiveServer, dict[str, SyncPrincipal]], sessions: async_sessionmaker[AsyncSession]
) -> None:
    server, tokens = live
    tokens["t1"] = principal()
    await set_stock(sessions, "tea", 3)
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=5) as client,
        client.stream(
            "GET", "/sync/events?protocol=1", headers={"Authorization": "Bearer t1"}
        ) as response,
    ):
        assert response.headers["content-type"] == "text/event-stream"
        lines = response.aiter_lines()
        assert await asyncio.wait_for(anext(lines), 2) == "event: hello"
        await _push_order(server, "o1")
        events: list[str] = []
        while sum(line.startswith("data:") and "poke" in line for line in events) < 2:
            events.append(await asyncio.wait_for(anext(lines), 2))
        assert 'data: {"type":"poke","scope":"stock:main","version":1}' in events


async def test_a_dropped_connection_ends_its_handler_cleanly(started: Hub) -> None:
    never = asyncio.Event()

    async def receive() -> Message:
        await never.wait()
        return {"type": "websocket.disconnect"}

    stuck = StuckSink()
    serving = asyncio.create_task(
        hold_connection(
            started, "ws", principal(), stuck.send, receive, done="websocket.disconnect"
        )
    )
    await settle()
    assert started.connection_count() == 1
    started.deliver({"dealer:d1": 1})
    await settle()
    await asyncio.sleep(0.25)
    started.deliver({"dealer:d1": 2})
    await asyncio.wait_for(serving, 1)
    assert not serving.cancelled() and serving.result() is None
    assert started.connection_count() == 0 and started.dropped == 1
