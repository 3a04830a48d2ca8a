"""The change feed: ``publish`` inside the caller's transaction, pokes after its commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import (
    BigInteger,
    LargeBinary,
    String,
    bindparam,
    column,
    func,
    insert,
    select,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from sync.schemas import Op
from sync.tables import dialect_insert, dialect_name, sync_change, sync_scope

__all__ = [
    "Publisher",
    "discard_pokes",
    "pending_pokes",
    "publish",
    "publish_many",
    "restore_pokes",
    "take_pokes",
]

_POKES_KEY = "sync.pokes"
_encoder = msgspec.json.Encoder()


async def publish(
    session: AsyncSession, scope: str, entity: str, key: str, op: Op, payload: Any = None
) -> int:
    """Append a change to ``scope`` in the caller's transaction and return its version.

    The scope's row lock, taken by the version bump, is held until the caller commits:
    writers of one scope commit in version order, so a reader that sees version v has seen
    every version < v.
    """
    return await publish_changes(session, scope, [(entity, key, op, payload)])


async def publish_many(
    session: AsyncSession,
    scope: str,
    entity: str,
    changes: Sequence[tuple[str, Op, Any]],
) -> int:
    """Append many ``(key, op, payload)`` changes of one entity to one scope (one version bump).

    See :func:`publish_changes`. Returns the last version.
    """
    return await publish_changes(
        session, scope, [(entity, key, op, payload) for key, op, payload in changes]
    )


Run = Callable[[AsyncSession, Any, dict[str, Any]], Awaitable[Sequence[Sequence[Any]]]]
"""Runs a statement in the session and returns its rows (the host's faster path, if any)."""


async def _execute(session: AsyncSession, statement: Any, params: dict[str, Any]) -> list[Any]:
    return [tuple(row) for row in await session.execute(statement, params)]


async def publish_changes(
    session: AsyncSession,
    scope: str,
    changes: Sequence[tuple[str, str, Op, Any]],
    *,
    run: Run = _execute,
) -> int:
    """Append many ``(entity, key, op, payload)`` changes to one scope with one version bump.

    Same guarantees as :func:`publish` (the scope row lock orders commits), but one
    statement reserves ``len(changes)`` consecutive versions and one bulk insert writes
    them: publishing a 50,000-item price list stays one short burst. Returns the last version.
    ``run`` executes the PostgreSQL one-statement form: a host that runs hot statements
    straight through its driver passes its own.
    """
    if not changes:
        raise ValueError("publish_changes needs at least one change")
    for _, _, op, _ in changes:
        if op not in ("upsert", "delete"):
            raise ValueError(f"op must be 'upsert' or 'delete', not {op!r}")
    count = len(changes)
    now = datetime.now(UTC)
    if count <= _ONE_STATEMENT_MAX and dialect_name(session) == "postgresql":
        params = {
            "scope": scope,
            "count": count,
            "now": now,
            "entities": [entity for entity, _, _, _ in changes],
            "keys": [key for _, key, _, _ in changes],
            "ops": [op for _, _, op, _ in changes],
            "datas": [
                None if op == "delete" else _encoder.encode(payload)
                for _, _, op, payload in changes
            ],
        }
        last = int(max(row[0] for row in await run(session, _PUBLISH_PG, params)))
    else:
        last = await _publish_in_two(session, scope, changes, now)
    pokes: dict[str, int] = session.info.setdefault(_POKES_KEY, {})
    pokes[scope] = max(last, pokes.get(scope, 0))
    return last


async def _publish_in_two(
    session: AsyncSession,
    scope: str,
    changes: Sequence[tuple[str, str, Op, Any]],
    now: datetime,
) -> int:
    """Bump the scope's version (its row lock), then insert the changes in bulk."""
    count = len(changes)
    stmt = (
        dialect_insert(session, sync_scope)
        .values(scope=scope, version=count, floor=0)
        .on_conflict_do_update(
            index_elements=[sync_scope.c.scope], set_={"version": sync_scope.c.version + count}
        )
        .returning(sync_scope.c.version)
    )
    last = int((await session.execute(stmt)).scalar_one())
    first = last - count + 1
    rows = [
        {
            "scope": scope,
            "version": first + n,
            "entity": entity,
            "key": key,
            "op": op,
            "data": None if op == "delete" else _encoder.encode(payload),
            "created_at": now,
        }
        for n, (entity, key, op, payload) in enumerate(changes)
    ]
    for start in range(0, count, 5000):
        await session.execute(insert(sync_change), rows[start : start + 5000])
    return last


_ONE_STATEMENT_MAX = 200
"""Up to this many changes, PostgreSQL bumps the version and inserts them in one statement."""


def _publish_statement() -> Any:
    """PostgreSQL: the version bump (a CTE that takes the scope row lock) and the inserts."""
    count = bindparam("count", type_=BigInteger)
    bumped = (
        postgresql.insert(sync_scope)
        .values(scope=bindparam("scope"), version=count, floor=0)
        .on_conflict_do_update(
            index_elements=[sync_scope.c.scope], set_={"version": sync_scope.c.version + count}
        )
        .returning(sync_scope.c.version)
        .cte("bumped")
    )
    rows = (
        func.unnest(
            bindparam("entities", type_=postgresql.ARRAY(String)),
            bindparam("keys", type_=postgresql.ARRAY(String)),
            bindparam("ops", type_=postgresql.ARRAY(String)),
            bindparam("datas", type_=postgresql.ARRAY(LargeBinary)),
        )
        .table_valued(
            column("entity", String),
            column("key", String),
            column("op", String),
            column("data", LargeBinary),
            with_ordinality="n",
        )
        .render_derived(name="c")
    )
    chosen = select(
        bindparam("scope", type_=String),
        bumped.c.version - count + rows.c.n,
        rows.c.entity,
        rows.c.key,
        rows.c.op,
        rows.c.data,
        bindparam("now", type_=sync_change.c.created_at.type),
    ).select_from(bumped.join(rows, true()))
    return (
        insert(sync_change)
        .from_select(["scope", "version", "entity", "key", "op", "data", "created_at"], chosen)
        .returning(sync_change.c.version)
    )


_PUBLISH_PG = _publish_statement()


def pending_pokes(session: AsyncSession) -> dict[str, int]:
    """The pokes recorded by ``publish`` in this session and not yet taken (a copy)."""
    return dict(session.info.get(_POKES_KEY, {}))


def take_pokes(session: AsyncSession) -> dict[str, int]:
    """Remove and return the session's pending pokes (call after the commit)."""
    pokes: dict[str, int] = session.info.pop(_POKES_KEY, {})
    return pokes


def discard_pokes(session: AsyncSession) -> None:
    """Forget pending pokes (call after a rollback)."""
    session.info.pop(_POKES_KEY, None)


def restore_pokes(session: AsyncSession, pokes: dict[str, int]) -> None:
    """Put back the pokes of before a rolled-back savepoint."""
    if pokes:
        session.info[_POKES_KEY] = pokes
    else:
        discard_pokes(session)


class Publisher:
    """What a domain registered: one entity, published only to scopes with known prefixes."""

    def __init__(self, entity: str, scope_prefixes: Iterable[str]) -> None:
        self.entity = entity
        self.scope_prefixes = tuple(scope_prefixes)

    async def publish(
        self, session: AsyncSession, scope: str, key: str, op: Op, payload: Any = None
    ) -> int:
        """Publish a change of this entity (see ``sync.publish``)."""
        if not scope.startswith(self.scope_prefixes):
            raise ValueError(f"{self.entity} is not published to scope {scope!r}")
        return await publish(session, scope, self.entity, key, op, payload)


async def scope_versions(session: AsyncSession, scopes: Iterable[str]) -> dict[str, int]:
    """The current version of each of ``scopes`` that has one (what a re-poke announces)."""
    wanted = list(scopes)
    if not wanted:
        return {}
    rows = await session.execute(
        select(sync_scope.c.scope, sync_scope.c.version).where(sync_scope.c.scope.in_(wanted))
    )
    return {scope: int(version) for scope, version in rows}
