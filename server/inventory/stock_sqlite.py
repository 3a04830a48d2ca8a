"""The stock write path on SQLite: rows moved one by one in key order, movements in one insert.

SQLite write transactions are serial (``BEGIN IMMEDIATE``), so nothing moves a row between
these statements; PostgreSQL does the same work in one statement (``stock_statements``).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.inventory.models import MovementKind
from server.inventory.stock_statements import (
    CHECKED_MOVE,
    MOVEMENTS,
    UNDO_MOVE,
    Key,
    move_params,
)


async def apply(
    session: AsyncSession, keys: list[Key], merged: dict[Key, list[int]]
) -> dict[Key, tuple[int, int, int]]:
    """Row by row in key order: (on hand, reserved, safety) after, by key, of those moved."""
    moved: dict[Key, tuple[int, int, int]] = {}
    for key in keys:
        on_hand, reserved = merged[key]
        row = (await session.execute(CHECKED_MOVE, move_params(key, on_hand, reserved))).first()
        if row is not None:
            figures: tuple[Any, ...] = tuple(row)
            moved[key] = (int(figures[0]), int(figures[1]), int(figures[2]))
    return moved


async def undo(session: AsyncSession, keys: list[Key], merged: dict[Key, list[int]]) -> None:
    """Move these rows back by what :func:`apply` moved them."""
    for key in keys:
        on_hand, reserved = merged[key]
        await session.execute(UNDO_MOVE, move_params(key, -on_hand, -reserved))


async def log_movements(
    session: AsyncSession,
    kind: MovementKind,
    keys: list[Key],
    merged: dict[Key, list[int]],
    *,
    reference: str,
    reason: str,
    actor_id: uuid.UUID | None,
) -> None:
    """Append one movement per moved key (one insert)."""
    now = utcnow()
    await session.execute(
        insert(MOVEMENTS),
        [
            {
                "id": uuid.uuid4(),
                "at": now,
                "warehouse_id": w,
                "sku_id": s,
                "kind": kind,
                "on_hand_delta": merged[(w, s)][0],
                "reserved_delta": merged[(w, s)][1],
                "reference": reference,
                "reason": reason,
                "actor_id": actor_id,
            }
            for w, s in keys
        ],
    )
