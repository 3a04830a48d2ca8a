"""The stock ledger's one write path, and reading the cached levels.

Every change goes through :func:`move_many`: a conditional ``UPDATE`` of the cached level
whose ``WHERE`` re-checks the invariants (``0 <= reserved <= on_hand <= MAX_ON_HAND``)
against the row as it is when the update runs. On PostgreSQL a concurrent writer of the same
row waits for the row lock and then re-evaluates the condition on the committed row, so two
reservations can never both take the last unit; on SQLite write transactions are serial
(``BEGIN IMMEDIATE``). Only when the update succeeded is the movement appended. The
statements are in ``stock_statements``, the SQLite path in ``stock_sqlite``; HQ's
operations (receipts, adjustments, counts) in ``hq_stock``; the ledger audits in
``ledger_audit``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Uuid, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import fast
from server.db.base import utcnow
from server.db.dialect import insert_ignoring_duplicates, is_postgresql
from server.errors import Invalid
from server.inventory import stock_sqlite
from server.inventory.models import MovementKind, StockLevel
from server.inventory.publication import note_stock_level
from server.inventory.stock_statements import (
    LEVELS,
    MAX_ON_HAND,
    MOVE_AND_LOG,
    UNDO_BATCH,
    Key,
    batch_params,
)

__all__ = [
    "MAX_ON_HAND",
    "MAX_QUANTITY",
    "Delta",
    "Key",
    "check_quantity",
    "ensure_levels",
    "move",
    "move_many",
    "read_available",
    "read_level",
    "read_levels",
]

MAX_QUANTITY = 100_000_000
"""The largest quantity one line, feed item or adjustment may carry."""


def check_quantity(quantity: int, what: str = "quantity") -> int:
    """Refuse anything but a whole number in 1..MAX_QUANTITY (bools are not numbers here)."""
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not 0 < quantity <= MAX_QUANTITY
    ):
        raise Invalid(
            "quantity_invalid",
            "数量必须是 1 到 1 亿之间的整数",
            f"{what} must be a whole number from 1 to {MAX_QUANTITY}",
            errors=[
                {"key": what, "message": f"收到 {quantity!r}", "message_en": f"got {quantity!r}"}
            ],
        )
    return quantity


async def ensure_levels(session: AsyncSession, keys: list[Key]) -> None:
    """Create missing zero levels (``INSERT ... ON CONFLICT DO NOTHING``)."""
    if keys:
        rows = [
            {"warehouse_id": w, "sku_id": s, "on_hand": 0, "reserved": 0, "updated_at": utcnow()}
            for w, s in sorted(set(keys))
        ]
        await session.execute(insert_ignoring_duplicates(session, StockLevel, rows))


class Delta(msgspec.Struct, frozen=True):
    """One change of one (warehouse, SKU): how much on hand and reserved move."""

    warehouse_id: uuid.UUID
    sku_id: uuid.UUID
    on_hand: int = 0
    reserved: int = 0


async def _move_and_log(
    session: AsyncSession,
    keys: list[Key],
    merged: dict[Key, list[int]],
    log: dict[str, Any],
) -> dict[Key, tuple[int, int, int]]:
    """PostgreSQL: move the rows and, if all of them moved, append the movements (one trip)."""
    params = batch_params([(k, merged[k][0], merged[k][1]) for k in keys])
    params.update(log, ids=[uuid.uuid4() for _ in keys], at=params["now"])
    rows = await fast.rows(session, MOVE_AND_LOG, params)
    return {(r[0], r[1]): (int(r[2]), int(r[3]), int(r[4])) for r in rows}


async def _undo(session: AsyncSession, keys: list[Key], merged: dict[Key, list[int]]) -> None:
    """Move these rows back (their locks are still held): a batch refused part of itself."""
    if is_postgresql(session):
        await session.execute(
            UNDO_BATCH, batch_params([(k, -merged[k][0], -merged[k][1]) for k in keys])
        )
    else:
        await stock_sqlite.undo(session, keys, merged)


def _merge(deltas: Sequence[Delta]) -> dict[Key, list[int]]:
    """The deltas summed per (warehouse, SKU), those that move nothing left out."""
    merged: dict[Key, list[int]] = {}
    for d in deltas:
        if d.on_hand or d.reserved:
            pair = merged.setdefault((d.warehouse_id, d.sku_id), [0, 0])
            pair[0] += d.on_hand
            pair[1] += d.reserved
    return merged


async def move_many(
    session: AsyncSession,
    kind: MovementKind,
    deltas: Sequence[Delta],
    *,
    reference: str = "",
    reason: str = "",
    actor_id: uuid.UUID | None = None,
) -> list[Key]:
    """Apply every delta or none; the keys that would break an invariant ([] when all applied).

    Rows are locked in (warehouse, SKU) order, so two writers never lock rows in opposite
    orders. On SQLite they are updated one by one in that order and the movements appended in
    one insert. On PostgreSQL one statement locks them all in that order, moves them with one
    ``UPDATE ... FROM unnest`` and appends the movements if every row moved.
    The updates return the new figures and the safety stock, from which the band change is
    noted for publication. When a row refuses, the rows moved are moved back (the
    transaction still holds their locks) and nothing is appended or noted.
    """
    merged = _merge(deltas)
    keys = sorted(merged, key=lambda k: (str(k[0]), str(k[1])))
    if not keys:
        return []
    postgresql = is_postgresql(session)
    if postgresql:
        log = {"kind": kind, "reference": reference, "reason": reason, "actor": actor_id}
        moved = await _move_and_log(session, keys, merged, log)
    else:
        moved = await stock_sqlite.apply(session, keys, merged)
    short = [k for k in keys if k not in moved]  # every short line, named at once
    if short:
        await _undo(session, [k for k in keys if k in moved], merged)
        return short
    for key in keys:
        on_hand, reserved = merged[key]
        new_on_hand, new_reserved, safety = moved[key]
        before = (new_on_hand - on_hand) - (new_reserved - reserved)
        note_stock_level(
            session, key[0], key[1], before=before, after=new_on_hand - new_reserved, safety=safety
        )
    if not postgresql:
        await stock_sqlite.log_movements(
            session, kind, keys, merged, reference=reference, reason=reason, actor_id=actor_id
        )
    return []


async def move(
    session: AsyncSession,
    warehouse_id: uuid.UUID,
    sku_id: uuid.UUID,
    kind: MovementKind,
    *,
    on_hand: int = 0,
    reserved: int = 0,
    reference: str = "",
    reason: str = "",
    actor_id: uuid.UUID | None = None,
) -> bool:
    """Apply one movement if the result keeps the invariants; False (and nothing done) if not."""
    short = await move_many(
        session,
        kind,
        [Delta(warehouse_id, sku_id, on_hand, reserved)],
        reference=reference,
        reason=reason,
        actor_id=actor_id,
    )
    return not short


async def read_level(
    session: AsyncSession, warehouse_id: uuid.UUID, sku_id: uuid.UUID, *, lock: bool = False
) -> StockLevel | None:
    """The current level (fresh from the database, optionally row-locked)."""
    stmt = select(StockLevel).where(
        StockLevel.warehouse_id == warehouse_id, StockLevel.sku_id == sku_id
    )
    if lock:
        stmt = stmt.with_for_update()
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def read_levels(session: AsyncSession, keys: list[Key]) -> dict[Key, StockLevel]:
    """The levels of these keys, fresh from the database (keys without a row are left out)."""
    if not keys:
        return {}
    warehouses = {w for w, _ in keys}
    skus = {s for _, s in keys}
    stmt = select(StockLevel).where(
        StockLevel.warehouse_id.in_(warehouses), StockLevel.sku_id.in_(skus)
    )
    rows = (await session.execute(stmt.execution_options(populate_existing=True))).scalars()
    return {(r.warehouse_id, r.sku_id): r for r in rows if (r.warehouse_id, r.sku_id) in set(keys)}


_AVAILABLE = select(
    LEVELS.c.warehouse_id, LEVELS.c.sku_id, LEVELS.c.on_hand - LEVELS.c.reserved
).where(
    # Typed: see stock_statements (the key columns' types come from their foreign keys).
    LEVELS.c.warehouse_id.in_(bindparam("warehouses", expanding=True, type_=Uuid)),
    LEVELS.c.sku_id.in_(bindparam("skus", expanding=True, type_=Uuid)),
)


async def read_available(session: AsyncSession, keys: list[Key]) -> dict[Key, int]:
    """On hand minus reserved by (warehouse, SKU), as of now; keys without a row are left out."""
    if not keys:
        return {}
    wanted = set(keys)
    params = {"warehouses": list({w for w, _ in keys}), "skus": list({s for _, s in keys})}
    return {
        (w, s): int(available)
        for w, s, available in await session.execute(_AVAILABLE, params)
        if (w, s) in wanted
    }
