"""Webhooks for dealer ERP nodes: signed, retried with backoff, dead-lettered, replayable.

Each endpoint follows its scopes like a client: one delivery at a time per (endpoint,
scope), carrying the changes after the endpoint's last delivered cursor (a reset snapshot
for a new endpoint or one below the compaction floor). A delivery keeps its event id across
retries, so receivers deduplicate on ``X-Sync-Event-Id``. Signature::

    X-Sync-Signature: v1=hex(HMAC-SHA256(secret, f"{X-Sync-Timestamp}.".encode() + body))
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sync.delivery import record_ack
from sync.errors import SyncNotFound
from sync.pull import pull, read_scope_heads
from sync.tables import (
    sync_node,
    sync_node_cursor,
    sync_webhook_delivery,
    sync_webhook_endpoint,
)

__all__ = [
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookPolicy",
    "delete_webhook",
    "deliver_due_webhooks",
    "register_webhook",
    "replay_webhook_delivery",
    "set_webhook_active",
    "sign_webhook",
    "webhook_deliveries",
    "webhook_endpoints",
]

_json = msgspec.json.Encoder()


class WebhookPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Retry and size limits of webhook delivery."""

    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=10)
    max_delay: timedelta = timedelta(hours=1)
    timeout: float = 10.0
    changes_per_delivery: int = 500
    batch_limit: int = 100
    concurrency: int = 16


def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Sync-Signature`` value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


async def register_webhook(
    session: AsyncSession,
    *,
    url: str,
    secret: str,
    scopes: Iterable[str],
    endpoint_id: str | None = None,
    now: datetime | None = None,
) -> str:
    """Register an ERP endpoint for ``scopes``; returns its id (caller commits)."""
    endpoint_id = endpoint_id or secrets.token_hex(8)
    await session.execute(
        insert(sync_webhook_endpoint).values(
            endpoint_id=endpoint_id,
            url=url,
            secret=secret,
            scopes=sorted(set(scopes)),
            active=True,
            created_at=now or datetime.now(UTC),
        )
    )
    return endpoint_id


async def replay_webhook_delivery(
    session: AsyncSession, event_id: str, now: datetime | None = None
) -> None:
    """Queue a delivered or dead-lettered delivery again, under the same event id."""
    result = await session.execute(
        update(sync_webhook_delivery)
        .where(sync_webhook_delivery.c.event_id == event_id)
        .values(status="pending", attempts=0, next_attempt_at=now or datetime.now(UTC))
        .returning(sync_webhook_delivery.c.event_id)
    )
    if result.first() is None:
        raise SyncNotFound(f"No webhook delivery {event_id}", f"找不到 Webhook 投递记录 {event_id}")


class WebhookEndpoint(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A registered endpoint (its secret left out) and how its deliveries stand."""

    endpoint_id: str
    url: str
    scopes: list[str]
    active: bool
    created_at: datetime
    pending: int
    dead: int


class WebhookDelivery(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One delivery of an endpoint's scope: its state, attempts and next retry."""

    event_id: str
    endpoint_id: str
    scope: str
    seq: int
    from_cursor: int
    to_cursor: int
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


async def webhook_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    """Every endpoint by creation, with its pending and dead-lettered delivery counts."""
    d = sync_webhook_delivery.c
    counts: dict[tuple[str, str], int] = {
        (row.endpoint_id, row.status): int(row.n)
        for row in await session.execute(
            select(d.endpoint_id, d.status, func.count().label("n"))
            .where(d.status.in_(("pending", "dead")))
            .group_by(d.endpoint_id, d.status)
        )
    }
    e = sync_webhook_endpoint.c
    rows = await session.execute(
        select(e.endpoint_id, e.url, e.scopes, e.active, e.created_at).order_by(
            e.created_at, e.endpoint_id
        )
    )
    return [
        WebhookEndpoint(
            endpoint_id=r.endpoint_id,
            url=r.url,
            scopes=list(r.scopes),
            active=bool(r.active),
            created_at=r.created_at,
            pending=counts.get((r.endpoint_id, "pending"), 0),
            dead=counts.get((r.endpoint_id, "dead"), 0),
        )
        for r in rows
    ]


async def webhook_deliveries(
    session: AsyncSession,
    *,
    endpoint_id: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[WebhookDelivery]:
    """The delivery log, newest first, optionally of one endpoint or in one status."""
    d = sync_webhook_delivery.c
    names = WebhookDelivery.__struct_fields__
    query = select(*(d[name] for name in names))
    if endpoint_id is not None:
        query = query.where(d.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(d.status == status)
    rows = await session.execute(
        query.order_by(d.created_at.desc(), d.endpoint_id, d.scope, d.seq.desc()).limit(limit)
    )
    return [WebhookDelivery(**dict(zip(names, r, strict=True))) for r in rows]


async def set_webhook_active(session: AsyncSession, endpoint_id: str, active: bool) -> bool:
    """Pause (nothing is queued or sent) or resume an endpoint; False when it is unknown."""
    result = await session.execute(
        update(sync_webhook_endpoint)
        .where(sync_webhook_endpoint.c.endpoint_id == endpoint_id)
        .values(active=active)
        .returning(sync_webhook_endpoint.c.endpoint_id)
    )
    return result.first() is not None


async def delete_webhook(session: AsyncSession, endpoint_id: str) -> bool:
    """Remove an endpoint with its delivery log and its node; False when it is unknown."""
    node_id = f"webhook:{endpoint_id}"
    await session.execute(
        delete(sync_webhook_delivery).where(sync_webhook_delivery.c.endpoint_id == endpoint_id)
    )
    await session.execute(delete(sync_node_cursor).where(sync_node_cursor.c.node_id == node_id))
    await session.execute(delete(sync_node).where(sync_node.c.node_id == node_id))
    result = await session.execute(
        delete(sync_webhook_endpoint)
        .where(sync_webhook_endpoint.c.endpoint_id == endpoint_id)
        .returning(sync_webhook_endpoint.c.endpoint_id)
    )
    return result.first() is not None


async def _enqueue(session: AsyncSession, now: datetime, policy: WebhookPolicy) -> int:
    """Create the next delivery for every (endpoint, scope) that is behind and has none queued.

    Why long: three set-based reads (endpoints, pending deliveries, heads per scope) and one
    insert, kept together so the whole decision runs in the caller's one short transaction.
    """
    endpoints = (
        await session.execute(
            select(sync_webhook_endpoint.c.endpoint_id, sync_webhook_endpoint.c.scopes).where(
                sync_webhook_endpoint.c.active.is_(True)
            )
        )
    ).all()
    if not endpoints:
        return 0
    d = sync_webhook_delivery.c
    pending = {
        (row.endpoint_id, row.scope)
        for row in await session.execute(
            select(d.endpoint_id, d.scope).where(d.status == "pending").distinct()
        )
    }
    latest = select(d.endpoint_id, d.scope, func.max(d.seq).label("seq")).group_by(
        d.endpoint_id, d.scope
    )
    latest_sq = latest.subquery()
    positions: dict[tuple[str, str], tuple[int, int]] = {
        (row.endpoint_id, row.scope): (int(row.seq), int(row.to_cursor))
        for row in await session.execute(
            select(d.endpoint_id, d.scope, d.seq, d.to_cursor).join(
                latest_sq,
                and_(
                    latest_sq.c.endpoint_id == d.endpoint_id,
                    latest_sq.c.scope == d.scope,
                    latest_sq.c.seq == d.seq,
                ),
            )
        )
    }
    all_scopes: set[str] = {s for row in endpoints for s in row.scopes}
    heads = await read_scope_heads(session, all_scopes)
    created = 0
    for endpoint_id, scopes in endpoints:
        for scope in scopes:
            if (endpoint_id, scope) in pending:
                continue
            seq, position = positions.get((endpoint_id, scope), (0, None))
            head = heads[scope][0]
            if (position is None and head == 0) or position == head:
                continue
            cursor = {} if position is None else {scope: position}
            result = await pull(session, {scope}, cursor, policy.changes_per_delivery)
            event_id = secrets.token_hex(16)
            body = _json.encode(
                {
                    "eventId": event_id,
                    "endpointId": endpoint_id,
                    "scope": scope,
                    "reset": scope in result.resets,
                    "fromCursor": position or 0,
                    "cursor": result.cursor[scope],
                    "hasMore": result.has_more,
                    "changes": result.changes,
                }
            )
            await session.execute(
                insert(sync_webhook_delivery).values(
                    event_id=event_id,
                    endpoint_id=endpoint_id,
                    scope=scope,
                    seq=seq + 1,
                    from_cursor=position or 0,
                    to_cursor=result.cursor[scope],
                    body=body,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            created += 1
    return created


async def _claim(
    sessions: async_sessionmaker[AsyncSession], now: datetime, policy: WebhookPolicy
) -> list[Any]:
    """Lease due deliveries so a concurrent runner does not send them at the same time."""
    d = sync_webhook_delivery.c
    e = sync_webhook_endpoint.c
    lease = now + timedelta(seconds=policy.timeout * 2)
    async with sessions.begin() as session:
        due = (
            (
                await session.execute(
                    select(d.event_id)
                    .join(sync_webhook_endpoint, e.endpoint_id == d.endpoint_id)
                    .where(d.status == "pending", d.next_attempt_at <= now, e.active.is_(True))
                    .order_by(d.next_attempt_at)
                    .limit(policy.batch_limit)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        if not due:
            return []
        await session.execute(
            update(sync_webhook_delivery).where(d.event_id.in_(due)).values(next_attempt_at=lease)
        )
        rows = await session.execute(
            select(
                d.event_id,
                d.endpoint_id,
                d.scope,
                d.to_cursor,
                d.body,
                d.attempts,
                e.url,
                e.secret,
                e.scopes,
            )
            .join(sync_webhook_endpoint, e.endpoint_id == d.endpoint_id)
            .where(d.event_id.in_(due))
        )
        return list(rows.all())


async def _send(
    client: httpx.AsyncClient, row: Any, now: datetime, policy: WebhookPolicy
) -> tuple[int | None, str | None]:
    timestamp = int(now.timestamp())
    try:
        response = await client.post(
            row.url,
            content=row.body,
            timeout=policy.timeout,
            headers={
                "Content-Type": "application/json",
                "X-Sync-Event-Id": row.event_id,
                "X-Sync-Timestamp": str(timestamp),
                "X-Sync-Signature": sign_webhook(row.secret, timestamp, row.body),
            },
        )
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


async def deliver_due_webhooks(
    session_factory: async_sessionmaker[AsyncSession],
    http_client: httpx.AsyncClient,
    now: datetime | None = None,
    *,
    policy: WebhookPolicy | None = None,
) -> int:
    """Queue what endpoints lack, send what is due, record results; returns deliveries made.

    Meant for the caller's job runner (call it every few seconds). Commits its own short
    transactions through ``session_factory``; HTTP calls run outside any transaction.
    """
    policy = policy or WebhookPolicy()
    now = now or datetime.now(UTC)
    try:
        async with session_factory.begin() as session:
            await _enqueue(session, now, policy)
    except IntegrityError:
        pass  # another runner queued the same deliveries first
    rows = await _claim(session_factory, now, policy)
    if not rows:
        return 0
    limit = asyncio.Semaphore(policy.concurrency)

    async def attempt(row: Any) -> tuple[Any, int | None, str | None]:
        async with limit:
            status, error = await _send(http_client, row, now, policy)
            return row, status, error

    outcomes = await asyncio.gather(*(attempt(row) for row in rows))
    delivered = 0
    async with session_factory.begin() as session:
        for row, status, error in outcomes:
            attempts = int(row.attempts) + 1
            values: dict[str, Any] = {"attempts": attempts, "last_status": status}
            if error is None:
                delivered += 1
                values |= {"status": "delivered", "delivered_at": now, "last_error": None}
                await record_ack(
                    session,
                    f"webhook:{row.endpoint_id}",
                    {row.scope: int(row.to_cursor)},
                    subscribed=set(row.scopes),
                    kind="webhook",
                    now=now,
                )
            elif attempts >= policy.max_attempts:
                values |= {"status": "dead", "last_error": error}
            else:
                delay = min(policy.base_delay * 2 ** (attempts - 1), policy.max_delay)
                values |= {"next_attempt_at": now + delay, "last_error": error}
            await session.execute(
                update(sync_webhook_delivery)
                .where(sync_webhook_delivery.c.event_id == row.event_id)
                .values(**values)
            )
    return delivered
