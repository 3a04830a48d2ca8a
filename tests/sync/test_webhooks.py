"""Webhooks against a real HTTP server on 127.0.0.1: signatures, retries, dead letters."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sync import SyncNotFound, node_lags, publication_status, publish
from sync.compaction import compact
from sync.tables import sync_webhook_delivery
from sync.webhooks import (
    WebhookPolicy,
    delete_webhook,
    deliver_due_webhooks,
    register_webhook,
    replay_webhook_delivery,
    set_webhook_active,
    webhook_deliveries,
    webhook_endpoints,
)
from tests.sync.conftest import LiveServer

Sessions = async_sessionmaker[AsyncSession]
SECRET = "s3cret"
T0 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
POLICY = WebhookPolicy(max_attempts=3, base_delay=timedelta(seconds=10), timeout=2.0)


class ERP:
    """A dealer ERP receiver: records requests, answers with scripted statuses."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.requests.append((headers, body))
        status = self.statuses.pop(0) if self.statuses else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
async def erp() -> AsyncIterator[tuple[ERP, str]]:
    receiver = ERP()
    async with LiveServer(receiver) as server:
        yield receiver, server.url + "/hook"


async def setup(sessions: Sessions, url: str) -> str:
    async with sessions.begin() as session:
        await publish(session, "price:east", "price", "tea", "upsert", {"fen": 100})
        await publish(session, "price:east", "price", "milk", "upsert", {"fen": 50})
        return await register_webhook(
            session, url=url, secret=SECRET, scopes=["price:east"], endpoint_id="erp1", now=T0
        )


def verify(headers: dict[str, str], body: bytes) -> None:
    expected = hmac.new(
        SECRET.encode(), headers["x-sync-timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["x-sync-signature"] == f"v1={expected}"


async def deliveries(sessions: Sessions) -> list[Any]:
    async with sessions() as session:
        d = sync_webhook_delivery.c
        rows = await session.execute(
            select(d.event_id, d.status, d.attempts, d.next_attempt_at, d.seq).order_by(d.seq)
        )
        return list(rows.all())


async def test_signed_delivery_then_incremental(sessions: Sessions, erp: tuple[ERP, str]) -> None:
    receiver, url = erp
    await setup(sessions, url)
    async with httpx.AsyncClient() as client:
        assert await deliver_due_webhooks(sessions, client, T0, policy=POLICY) == 1
        headers, body = receiver.requests[0]
        verify(headers, body)
        first = json.loads(body)
        assert first["reset"] is True and first["cursor"] == 2
        assert [c["key"] for c in first["changes"]] == ["tea", "milk"]
        assert headers["x-sync-event-id"] == first["eventId"]
        # Nothing new: nothing sent. A new change: only it is sent.
        assert await deliver_due_webhooks(sessions, client, T0, policy=POLICY) == 0
        async with sessions.begin() as session:
            await publish(session, "price:east", "price", "tea", "upsert", {"fen": 120})
        assert await deliver_due_webhooks(sessions, client, T0, policy=POLICY) == 1
    second = json.loads(receiver.requests[1][1])
    assert second["reset"] is False and second["fromCursor"] == 2
    assert [(c["key"], c["data"]) for c in second["changes"]] == [("tea", {"fen": 120})]
    async with sessions() as session:
        status = await publication_status(session, "price:east", 3)
    assert (status.subscribed, status.acked) == (1, 1)


async def test_retries_with_backoff_under_one_event_id_then_dead_letter_and_replay(
    sessions: Sessions, erp: tuple[ERP, str]
) -> None:
    receiver, url = erp
    await setup(sessions, url)
    receiver.statuses = [500, 503, 502]
    async with httpx.AsyncClient() as client:
        assert await deliver_due_webhooks(sessions, client, T0, policy=POLICY) == 0
        [row] = await deliveries(sessions)
        assert (row.status, row.attempts, row.next_attempt_at) == (
            "pending",
            1,
            T0 + timedelta(seconds=10),
        )
        # Not due yet: nothing is sent.
        assert (
            await deliver_due_webhooks(sessions, client, T0 + timedelta(seconds=5), policy=POLICY)
            == 0
        )
        assert len(receiver.requests) == 1
        await deliver_due_webhooks(sessions, client, T0 + timedelta(seconds=10), policy=POLICY)
        [row] = await deliveries(sessions)
        assert row.next_attempt_at == T0 + timedelta(seconds=30)  # 10 s, then 20 s
        await deliver_due_webhooks(sessions, client, T0 + timedelta(seconds=30), policy=POLICY)
        [row] = await deliveries(sessions)
        assert (row.status, row.attempts) == ("dead", 3)
        assert len({h["x-sync-event-id"] for h, _ in receiver.requests}) == 1
        # A dead letter does not block the next delivery for the scope.
        async with sessions.begin() as session:
            await publish(session, "price:east", "price", "tea", "upsert", {"fen": 130})
        t1 = T0 + timedelta(minutes=5)
        assert await deliver_due_webhooks(sessions, client, t1, policy=POLICY) == 1
        async with sessions.begin() as session:
            await replay_webhook_delivery(session, row.event_id, t1)
            with pytest.raises(SyncNotFound):
                await replay_webhook_delivery(session, "nope", t1)
        assert await deliver_due_webhooks(sessions, client, t1, policy=POLICY) == 1
    assert receiver.requests[-1][0]["x-sync-event-id"] == row.event_id
    assert [r.status for r in await deliveries(sessions)] == ["delivered", "delivered"]


async def test_unreachable_endpoint_counts_as_a_failed_attempt(sessions: Sessions) -> None:
    await setup(sessions, "http://127.0.0.1:9/hook")
    async with httpx.AsyncClient() as client:
        assert await deliver_due_webhooks(sessions, client, T0, policy=POLICY) == 0
    [row] = await deliveries(sessions)
    assert (row.status, row.attempts) == ("pending", 1)


async def test_endpoint_behind_the_floor_gets_a_reset(
    sessions: Sessions, erp: tuple[ERP, str]
) -> None:
    receiver, url = erp
    await setup(sessions, url)
    async with httpx.AsyncClient() as client:
        await deliver_due_webhooks(sessions, client, T0, policy=POLICY)
        async with sessions.begin() as session:
            for fen in (1, 2, 3):
                await publish(session, "price:east", "price", "tea", "upsert", {"fen": fen})
            await compact(session, retention=None)
        await deliver_due_webhooks(sessions, client, T0, policy=POLICY)
    last = json.loads(receiver.requests[-1][1])
    assert last["reset"] is True
    assert sorted((c["key"], c["data"]["fen"]) for c in last["changes"]) == [
        ("milk", 50),
        ("tea", 3),
    ]


async def test_a_paused_endpoint_is_neither_queued_nor_sent_until_resumed(
    sessions: Sessions, erp: tuple[ERP, str]
) -> None:
    receiver, url = erp
    await setup(sessions, url)
    receiver.statuses = [500]
    async with httpx.AsyncClient() as client:
        await deliver_due_webhooks(sessions, client, T0, policy=POLICY)  # fails: retry queued
        async with sessions.begin() as session:
            assert await set_webhook_active(session, "erp1", active=False) is True
            assert await set_webhook_active(session, "nope", active=False) is False
            await publish(session, "price:east", "price", "tea", "upsert", {"fen": 140})
        later = T0 + timedelta(minutes=5)
        assert await deliver_due_webhooks(sessions, client, later, policy=POLICY) == 0
        assert len(receiver.requests) == 1  # the retry waits while paused
        async with sessions() as session:
            [endpoint] = await webhook_endpoints(session)
            log = await webhook_deliveries(session, endpoint_id="erp1")
        assert (endpoint.active, endpoint.pending, endpoint.dead) == (False, 1, 0)
        assert "secret" not in endpoint.__struct_fields__
        assert [(d.status, d.attempts, d.last_status) for d in log] == [("pending", 1, 500)]
        assert log[0].next_attempt_at == T0 + timedelta(seconds=10)
        async with sessions.begin() as session:
            assert await set_webhook_active(session, "erp1", active=True) is True
        assert await deliver_due_webhooks(sessions, client, later, policy=POLICY) == 1
    assert len(receiver.requests) == 2


async def test_deleting_an_endpoint_forgets_its_log_and_its_node(
    sessions: Sessions, erp: tuple[ERP, str]
) -> None:
    _, url = erp
    await setup(sessions, url)
    async with httpx.AsyncClient() as client:
        assert await deliver_due_webhooks(sessions, client, T0, policy=POLICY) == 1
    async with sessions() as session:
        assert [n.node_id for n in await node_lags(session)] == ["webhook:erp1"]
    async with sessions.begin() as session:
        assert await delete_webhook(session, "erp1") is True
        assert await delete_webhook(session, "erp1") is False
    async with sessions() as session:
        assert await webhook_endpoints(session) == []
        assert await webhook_deliveries(session) == []
        assert await node_lags(session) == []
