"""Pull: changes after a cursor, snapshots for new or compacted scopes, one consistent read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

import msgspec
from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from sync.errors import SyncConflict, SyncForbidden
from sync.schemas import Change, PullResult
from sync.tables import dialect_name, sync_change, sync_scope

__all__ = ["pull", "read_scope_heads"]

_newer = sync_change.alias("newer")
_columns = (
    sync_change.c.scope,
    sync_change.c.version,
    sync_change.c.entity,
    sync_change.c.key,
    sync_change.c.op,
    sync_change.c.data,
)


async def _begin_consistent(db: AsyncSession | AsyncConnection) -> None:
    """On PostgreSQL, open the transaction REPEATABLE READ so all reads share one snapshot."""
    if db.in_transaction() or dialect_name(db) != "postgresql":
        # SQLite: one transaction is one snapshot. A PostgreSQL transaction the caller began
        # and that ``pull`` could not read beside (see ``pull``): reads stay bounded by the
        # versions read first, which committed after every lower version: no holes.
        return
    if isinstance(db, AsyncSession):
        await db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:
        await db.execution_options(isolation_level="REPEATABLE READ")
        await db.begin()


async def read_scope_heads(
    db: AsyncSession | AsyncConnection, scopes: AbstractSet[str]
) -> dict[str, tuple[int, int]]:
    """``{scope: (version, floor)}`` for the given scopes; unknown scopes are ``(0, 0)``."""
    heads: dict[str, tuple[int, int]] = dict.fromkeys(scopes, (0, 0))
    if scopes:
        rows = await db.execute(
            select(sync_scope.c.scope, sync_scope.c.version, sync_scope.c.floor).where(
                sync_scope.c.scope.in_(sorted(scopes))
            )
        )
        for scope, version, floor in rows:
            heads[scope] = (int(version), int(floor))
    return heads


def _to_change(row: Any) -> Change:
    data: bytes | None = row.data
    return Change(
        scope=str(row.scope),
        version=int(row.version),
        entity=str(row.entity),
        key=str(row.key),
        op="delete" if row.op == "delete" else "upsert",
        data=None if data is None else msgspec.Raw(data),
    )


async def _read(
    db: AsyncSession | AsyncConnection,
    scope: str,
    after: int,
    head: int,
    budget: int,
    *,
    latest_only: bool,
) -> Sequence[Any]:
    where: list[ColumnElement[bool]] = [
        sync_change.c.scope == scope,
        sync_change.c.version > after,
        sync_change.c.version <= head,
    ]
    if latest_only:
        # Snapshot: the latest change per key as of ``head``; a first page needs no tombstones.
        where.append(
            ~exists().where(
                and_(
                    _newer.c.scope == sync_change.c.scope,
                    _newer.c.entity == sync_change.c.entity,
                    _newer.c.key == sync_change.c.key,
                    _newer.c.version > sync_change.c.version,
                    _newer.c.version <= head,
                )
            )
        )
        if after == 0:
            where.append(sync_change.c.op != "delete")
    stmt = select(*_columns).where(*where).order_by(sync_change.c.version).limit(budget + 1)
    return (await db.execute(stmt)).all()


async def pull(
    db: AsyncSession | AsyncConnection,
    principal_scopes: AbstractSet[str],
    cursor: Mapping[str, int],
    limit: int,
    *,
    scopes: AbstractSet[str] | None = None,
) -> PullResult:
    """Answer a pull for ``cursor`` restricted to the principal's scopes (at most ``limit``).

    A cursor value ``c >= 0`` means "applied every change up to version c"; a negative value
    ``-v`` is a snapshot in progress (latest state per key up to version v received). A scope
    without a cursor, or with ``0 <= c < floor``, is reset: the client drops its state for
    that scope and receives a snapshot. Scopes in the cursor that the principal no longer has
    are listed in ``dropped``.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    bind = db.bind if isinstance(db, AsyncSession) else None
    if (
        isinstance(db, AsyncSession)
        and db.in_transaction()
        and isinstance(bind, AsyncEngine)
        and bind.dialect.name == "postgresql"
    ):
        # The caller's transaction already began (READ COMMITTED): read on a connection of
        # our own in one REPEATABLE READ snapshot instead.
        async with bind.connect() as conn:
            await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                return await _pull(conn, principal_scopes, cursor, limit, scopes)
    await _begin_consistent(db)
    return await _pull(db, principal_scopes, cursor, limit, scopes)


async def _pull(
    db: AsyncSession | AsyncConnection,
    principal_scopes: AbstractSet[str],
    cursor: Mapping[str, int],
    limit: int,
    scopes: AbstractSet[str] | None,
) -> PullResult:
    """One page of changes for the wanted scopes after ``cursor``.

    Why long: scope checks, the per-scope cursor reads and the page assembly share the page
    budget (``limit``) as it is spent, scope by scope.
    """
    if scopes is None:
        wanted = set(principal_scopes)
    else:
        foreign = sorted(set(scopes) - set(principal_scopes))
        if foreign:
            raise SyncForbidden(
                f"Not allowed to read scopes: {', '.join(foreign)}",
                f"无权读取以下同步范围：{', '.join(foreign)}",
                code="scope_forbidden",
                extra={"scopes": foreign},
            )
        wanted = set(scopes)
    dropped = sorted(s for s in cursor if s not in principal_scopes)
    heads = await read_scope_heads(db, wanted)
    for scope in sorted(wanted):
        position = cursor.get(scope)
        head = heads[scope][0]
        if position is not None and abs(position) > head:
            raise SyncConflict(
                f"Cursor for {scope} is at {abs(position)} but the server is at {head}",
                f"同步范围 {scope} 的游标 {abs(position)} 超过服务器版本 {head}，请重置本地数据",
                code="cursor_ahead",
                extra={"scope": scope, "serverVersion": head},
            )

    changes: list[Change] = []
    new_cursor: dict[str, int] = {}
    resets: list[str] = []
    has_more = False
    budget = limit
    # Scopes the client already follows first, so a large new snapshot cannot starve them.
    for scope in sorted(wanted, key=lambda s: (s not in cursor, s)):
        head, floor = heads[scope]
        position = cursor.get(scope)
        reset = position is None or 0 <= position < floor
        if budget == 0:
            has_more = True
            if position is not None:
                new_cursor[scope] = position
            continue
        if reset:
            after, latest_only = 0, True
        elif position is not None and position < 0:
            after, latest_only = -position, True
        else:
            after, latest_only = position or 0, False
        rows = await _read(db, scope, after, head, budget, latest_only=latest_only)
        if reset:
            resets.append(scope)
        if len(rows) > budget:
            rows = rows[:budget]
            has_more = True
            last = int(rows[-1][1])
            new_cursor[scope] = -last if latest_only else last
        else:
            new_cursor[scope] = head
        budget -= len(rows)
        changes.extend(_to_change(row) for row in rows)
    return PullResult(
        changes=changes, cursor=new_cursor, has_more=has_more, resets=resets, dropped=dropped
    )
