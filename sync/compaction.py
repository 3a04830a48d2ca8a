"""Compaction: history older than the retention window shrinks to the latest change per key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sync.tables import sync_change, sync_scope

__all__ = ["compact"]

_newer = sync_change.alias("newer")


async def compact(
    session: AsyncSession,
    *,
    retention: timedelta | None,
    scopes: Iterable[str] | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Compact changes older than ``retention`` (None: all) and raise the floors.

    At or below the new floor only the latest change per key survives (deletes stay as
    tombstones); clients whose cursor is below the floor get a reset for that scope only.
    Runs in the caller's transaction; returns ``{scope: new floor}`` for the scopes raised.
    """
    now = now or datetime.now(UTC)
    if scopes is None:
        scopes = (await session.execute(select(sync_scope.c.scope))).scalars().all()
    raised: dict[str, int] = {}
    for scope in sorted(set(scopes)):
        candidate = select(func.max(sync_change.c.version)).where(sync_change.c.scope == scope)
        if retention is not None:
            candidate = candidate.where(sync_change.c.created_at < now - retention)
        new_floor = (await session.execute(candidate)).scalar_one_or_none()
        if new_floor is None:
            continue
        # Taking the scope row lock first keeps publishers of this scope out meanwhile.
        moved = await session.execute(
            update(sync_scope)
            .where(sync_scope.c.scope == scope, sync_scope.c.floor < new_floor)
            .values(floor=new_floor)
            .returning(sync_scope.c.floor)
        )
        if moved.first() is None:
            continue
        await session.execute(
            delete(sync_change).where(
                sync_change.c.scope == scope,
                sync_change.c.version <= new_floor,
                exists().where(
                    and_(
                        _newer.c.scope == sync_change.c.scope,
                        _newer.c.entity == sync_change.c.entity,
                        _newer.c.key == sync_change.c.key,
                        _newer.c.version > sync_change.c.version,
                    )
                ),
            )
        )
        raised[scope] = int(new_floor)
    return raised
