"""Delivery tracking: nodes acknowledge cursors; HQ asks who has a publication and who lags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from sync.errors import SyncForbidden
from sync.tables import dialect_insert, sync_change, sync_node, sync_node_cursor, sync_scope

__all__ = [
    "NodeLag",
    "PublicationStatus",
    "ScopeHead",
    "dealer_nodes",
    "latest_publications",
    "node_dealers",
    "node_lags",
    "publication_status",
    "record_ack",
]

NodeKind = Literal["client", "webhook"]


class NodeLag(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """How far one node is behind on one scope."""

    node_id: str
    kind: str
    scope: str
    acked_version: int
    head_version: int
    lag: int
    last_seen_at: datetime
    acked_at: datetime


class PublicationStatus(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Who has ``scope`` at ``version`` or later among the nodes subscribed to it."""

    scope: str
    version: int
    subscribed: int
    acked: int
    lagging: list[NodeLag]


async def record_ack(
    db: AsyncSession | AsyncConnection,
    node_id: str,
    cursor: Mapping[str, int],
    *,
    subscribed: AbstractSet[str],
    kind: NodeKind = "client",
    subject_id: str | None = None,
    dealer_id: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record that ``node_id`` applied ``cursor`` (acks only move forward).

    Raises ``SyncForbidden(client_forbidden)`` if the node belongs to another subject.

    ``subscribed`` is the node's current scope set: scopes outside it are forgotten, scopes
    in it without a cursor are tracked at version 0.

    Why long: the acknowledgement's rules (ownership, forward-only cursors, forgetting
    unsubscribed scopes, tracking new ones) run under one lock on the node's row, in order.
    """
    now = now or datetime.now(UTC)
    node = dialect_insert(db, sync_node).values(
        node_id=node_id,
        kind=kind,
        subject_id=subject_id,
        dealer_id=dealer_id,
        created_at=now,
        last_seen_at=now,
    )
    owned = await db.execute(
        node.on_conflict_do_update(
            index_elements=[sync_node.c.node_id],
            set_={"last_seen_at": node.excluded.last_seen_at},
            where=sync_node.c.subject_id.is_not_distinct_from(node.excluded.subject_id),
        ).returning(sync_node.c.node_id)
    )
    if owned.first() is None:
        raise SyncForbidden(
            "This client id belongs to another user",
            "该客户端标识属于其他用户",
            code="client_forbidden",
        )
    await db.execute(
        delete(sync_node_cursor).where(
            sync_node_cursor.c.node_id == node_id, sync_node_cursor.c.scope.not_in(subscribed)
        )
    )
    if not subscribed:
        return
    # A negative cursor is a snapshot still in progress: nothing complete to acknowledge yet.
    rows = [
        {"node_id": node_id, "scope": s, "version": max(cursor.get(s, 0), 0), "acked_at": now}
        for s in sorted(subscribed)
    ]
    stmt = dialect_insert(db, sync_node_cursor).values(rows)
    forward = stmt.excluded.version > sync_node_cursor.c.version
    await db.execute(
        stmt.on_conflict_do_update(
            index_elements=[sync_node_cursor.c.node_id, sync_node_cursor.c.scope],
            set_={
                "version": case((forward, stmt.excluded.version), else_=sync_node_cursor.c.version),
                "acked_at": case(
                    (forward, stmt.excluded.acked_at), else_=sync_node_cursor.c.acked_at
                ),
            },
        )
    )


def _lag_query() -> Any:
    head = func.coalesce(sync_scope.c.version, 0)
    return (
        select(
            sync_node_cursor.c.node_id,
            sync_node.c.kind,
            sync_node_cursor.c.scope,
            sync_node_cursor.c.version,
            head.label("head"),
            sync_node.c.last_seen_at,
            sync_node_cursor.c.acked_at,
        )
        .join(sync_node, sync_node.c.node_id == sync_node_cursor.c.node_id)
        .join(sync_scope, sync_scope.c.scope == sync_node_cursor.c.scope, isouter=True)
    )


def _to_lag(row: Any) -> NodeLag:
    return NodeLag(
        node_id=row.node_id,
        kind=row.kind,
        scope=row.scope,
        acked_version=int(row.version),
        head_version=int(row.head),
        lag=int(row.head) - int(row.version),
        last_seen_at=row.last_seen_at,
        acked_at=row.acked_at,
    )


async def publication_status(
    db: AsyncSession | AsyncConnection, scope: str, version: int, *, limit: int = 100
) -> PublicationStatus:
    """How many subscribed nodes have acked ``scope`` >= ``version``, and the laggards."""
    counts = (
        await db.execute(
            select(
                func.count(),
                func.count(case((sync_node_cursor.c.version >= version, 1))),
            ).where(sync_node_cursor.c.scope == scope)
        )
    ).one()
    lagging = await db.execute(
        _lag_query()
        .where(and_(sync_node_cursor.c.scope == scope, sync_node_cursor.c.version < version))
        .order_by(sync_node_cursor.c.version, sync_node.c.last_seen_at)
        .limit(limit)
    )
    return PublicationStatus(
        scope=scope,
        version=version,
        subscribed=int(counts[0]),
        acked=int(counts[1]),
        lagging=[_to_lag(row) for row in lagging],
    )


async def dealer_nodes(db: AsyncSession | AsyncConnection, dealer_id: str) -> list[NodeLag]:
    """A dealer's nodes (as registered by their tokens): per node and scope, what it
    acknowledged against the scope's head; the most recently seen node first."""
    rows = await db.execute(
        _lag_query()
        .where(sync_node.c.dealer_id == dealer_id)
        .order_by(sync_node.c.last_seen_at.desc(), sync_node.c.node_id, sync_node_cursor.c.scope)
        .limit(500)
    )
    return [_to_lag(row) for row in rows]


async def node_lags(
    db: AsyncSession | AsyncConnection,
    *,
    scope: str | None = None,
    only_lagging: bool = False,
    limit: int = 500,
) -> list[NodeLag]:
    """Every node's position per scope, most behind first."""
    query = _lag_query()
    if scope is not None:
        query = query.where(sync_node_cursor.c.scope == scope)
    lag = func.coalesce(sync_scope.c.version, 0) - sync_node_cursor.c.version
    if only_lagging:
        query = query.where(lag > 0)
    rows = await db.execute(query.order_by(lag.desc(), sync_node_cursor.c.node_id).limit(limit))
    return [_to_lag(row) for row in rows]


class ScopeHead(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A scope's latest publication: its version and when it was written."""

    scope: str
    version: int
    published_at: datetime


async def latest_publications(
    db: AsyncSession | AsyncConnection, prefixes: Sequence[str], *, limit: int = 20
) -> list[ScopeHead]:
    """The most recently published scopes whose names start with one of ``prefixes``.

    Read from each scope's head (one row per scope) and the change at that version (a
    primary-key lookup; compaction keeps the latest change of every key, so the head's
    survives), not by grouping the change log, which holds every price of every version.
    """
    query = (
        select(sync_scope.c.scope, sync_scope.c.version, sync_change.c.created_at)
        .join(
            sync_change,
            and_(
                sync_change.c.scope == sync_scope.c.scope,
                sync_change.c.version == sync_scope.c.version,
            ),
        )
        .where(or_(*[sync_scope.c.scope.startswith(p) for p in prefixes]))
        .order_by(sync_change.c.created_at.desc(), sync_scope.c.scope)
        .limit(limit)
    )
    rows = await db.execute(query)
    return [ScopeHead(scope=r[0], version=int(r[1]), published_at=r[2]) for r in rows]


async def node_dealers(
    db: AsyncSession | AsyncConnection, node_ids: Sequence[str]
) -> dict[str, str | None]:
    """The dealer (as registered by the node's token) of each of these nodes."""
    if not node_ids:
        return {}
    rows = await db.execute(
        select(sync_node.c.node_id, sync_node.c.dealer_id).where(
            sync_node.c.node_id.in_(list(node_ids))
        )
    )
    return {r[0]: r[1] for r in rows}
