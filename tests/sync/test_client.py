"""The reference client against a live server: offline queue, poke-driven pull."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sync import Hub, SyncPrincipal, discard_pokes, publish
from sync.client import SyncClient, SyncClientError
from tests.sync.conftest import LiveServer, principal, set_stock

Sessions = async_sessionmaker[AsyncSession]


async def test_poke_drives_a_pull_within_the_second(
    live: tuple[LiveServer, dict[str, SyncPrincipal]], sessions: Sessions, hub: Hub
) -> None:
    server, tokens = live
    tokens["t1"] = principal()
    await set_stock(sessions, "tea", 2)
    async with httpx.AsyncClient(base_url=server.url) as http:
        client = SyncClient(http, "t1")
        stop = asyncio.Event()
        listening = asyncio.create_task(
            client.listen(stop, ws_url=server.url.replace("http", "ws") + "/sync/ws")
        )
        while hub.connection_count() == 0:  # noqa: ASYNC110 - polling the hub under test
            await asyncio.sleep(0.01)
        async with sessions.begin() as session:
            await publish(session, "stock:main", "stock", "tea", "upsert", {"qty": 9})
        await hub.flush_pokes(session)
        loop = asyncio.get_running_loop()
        started = loop.time()
        while client.state("stock:main") != {("stock", "tea"): {"qty": 9}}:
            assert loop.time() - started < 1.0
            await asyncio.sleep(0.005)
        stop.set()
        await listening
        client.close()


class Received:
    """A started hub with one WebSocket-like connection on scope ``s`` that records sends."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.messages: list[dict[str, object]] = []
        hub.connect("ws", {"s"}, self.send)

    async def send(self, message: dict[str, object]) -> None:
        self.messages.append(message)


@pytest.fixture
async def listening(hub: Hub) -> AsyncIterator[Received]:
    await hub.start()
    try:
        yield Received(hub)
    finally:
        await hub.stop()


async def test_rolled_back_publish_never_pokes(sessions: Sessions, listening: Received) -> None:
    async with sessions() as session:
        await publish(session, "s", "x", "k", "upsert", {})
        await session.rollback()
        discard_pokes(session)
        await listening.hub.flush_pokes(session)
    await asyncio.sleep(0.01)
    assert listening.messages == []


async def test_offline_queue_survives_and_mid_gap_is_reported(
    http: tuple[httpx.AsyncClient, dict[str, SyncPrincipal]], sessions: Sessions, tmp_path: object
) -> None:
    asgi, tokens = http
    tokens["t1"] = principal()
    await set_stock(sessions, "tea", 5)
    store = f"{tmp_path}/dealer.db"
    client = SyncClient(asgi, "t1", store)
    client.enqueue("order.place", {"order_id": "o1", "sku": "tea", "qty": 1}, business_key="o1")
    client.close()
    # The app restarts: the queue and the client id are still there.
    client = SyncClient(asgi, "t1", store)
    assert client.pending() == [1]
    await client.sync()
    assert client.outcomes()[1]["status"] == "applied"
    assert client.state("dealer:d1")[("order", "o1")] == {"sku": "tea", "qty": 1}
    client.close()
    # A client that lost its local state but kept its id gets a gap error, not silence.
    forgetful = SyncClient(asgi, "t1", client_id=client.client_id)
    forgetful.enqueue("order.place", {"order_id": "o2", "sku": "tea", "qty": 1}, "o2")
    forgetful.db.execute("UPDATE outbox SET mid = 5")
    with pytest.raises(SyncClientError) as info:
        await forgetful.push()
    assert info.value.status == 409 and info.value.code == "mid_gap"
    forgetful.close()


async def test_publish_pokes_only_when_flushed_after_commit(
    sessions: Sessions, listening: Received
) -> None:
    async with sessions() as session:
        await publish(session, "s", "x", "k", "upsert", {})
        await asyncio.sleep(0.01)
        assert listening.messages == []  # published, not committed: nobody is told
        await session.commit()
        await asyncio.sleep(0.01)
        assert listening.messages == []  # committed, not flushed
        await listening.hub.flush_pokes(session)
    await asyncio.sleep(0.01)
    assert listening.messages == [
        {"type": "websocket.send", "text": '{"type":"poke","scope":"s","version":1}'}
    ]
