"""The stock write path's statements, built once at import (their construction costs more
than their execution on the order path).

- PostgreSQL, one statement per batch: lock the rows in key order, move them with one
  ``UPDATE ... FROM unnest`` whose ``WHERE`` re-checks the invariants, and append the
  movements only if every row moved (:data:`MOVE_AND_LOG`); :data:`UNDO_BATCH` moves back.
- SQLite, one row per statement: :data:`CHECKED_MOVE` and :data:`UNDO_MOVE`.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Table,
    Uuid,
    and_,
    bindparam,
    column,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from server.db.base import utcnow
from server.inventory.models import SkuSafetyStock, StockLevel, StockMovement, WarehouseStockPolicy

MAX_ON_HAND = 1_000_000_000
"""No warehouse holds more of one SKU than this: a figure above it is a typo, not stock."""

Key = tuple[uuid.UUID, uuid.UUID]
"""(warehouse id, SKU id): one stock level."""


LEVELS = cast(Table, StockLevel.__table__)
MOVEMENTS = cast(Table, StockMovement.__table__)


def _safety_of_row() -> Any:
    """The safety stock that applies to the updated row, read inside the UPDATE itself."""
    by_sku = (
        select(SkuSafetyStock.quantity)
        .where(SkuSafetyStock.sku_id == LEVELS.c.sku_id)
        .scalar_subquery()
    )
    by_warehouse = (
        select(WarehouseStockPolicy.safety_stock)
        .where(WarehouseStockPolicy.warehouse_id == LEVELS.c.warehouse_id)
        .scalar_subquery()
    )
    return func.coalesce(by_sku, by_warehouse, 0)


_ON_HAND, _RESERVED = bindparam("on_hand_delta"), bindparam("reserved_delta")
# Typed here: the key columns take their type from their foreign key's target, which may
# not be imported yet when this module builds its statements.
_MOVE_ROW = LEVELS.update().where(
    LEVELS.c.warehouse_id == bindparam("warehouse", type_=Uuid),
    LEVELS.c.sku_id == bindparam("sku", type_=Uuid),
)
_MOVE_VALUES = {
    "on_hand": LEVELS.c.on_hand + _ON_HAND,
    "reserved": LEVELS.c.reserved + _RESERVED,
    "updated_at": bindparam("now"),
}
_MOVE_RETURNING = (LEVELS.c.on_hand, LEVELS.c.reserved, _safety_of_row())
# Built once: a statement's construction costs more than its execution on this hot path.
CHECKED_MOVE = (
    _MOVE_ROW.where(
        LEVELS.c.reserved + _RESERVED >= 0,
        LEVELS.c.on_hand + _ON_HAND - (LEVELS.c.reserved + _RESERVED) >= 0,
        LEVELS.c.on_hand + _ON_HAND <= MAX_ON_HAND,
    )
    .values(_MOVE_VALUES)
    .returning(*_MOVE_RETURNING)
)
UNDO_MOVE = _MOVE_ROW.values(_MOVE_VALUES)


def _deltas(*, ids: bool) -> Any:
    """The moves as rows ``v(w, s, h, r[, id])``, from one array parameter per column."""
    arrays = [
        ("warehouses", "w", Uuid),
        ("skus", "s", Uuid),
        ("on_hand_deltas", "h", BigInteger),
        ("reserved_deltas", "r", BigInteger),
        *([("ids", "id", Uuid)] if ids else []),
    ]
    return (
        func.unnest(*(bindparam(name, type_=ARRAY(kind)) for name, _, kind in arrays))
        .table_valued(*(column(label, kind) for _, label, kind in arrays))
        .render_derived(name="v")
    )


def _moving(v: Any) -> tuple[Any, dict[str, Any]]:
    """The update of the levels named by ``v`` and the values that move them by its deltas."""
    rows = LEVELS.update().where(LEVELS.c.warehouse_id == v.c.w, LEVELS.c.sku_id == v.c.s)
    values = {
        "on_hand": LEVELS.c.on_hand + v.c.h,
        "reserved": LEVELS.c.reserved + v.c.r,
        "updated_at": bindparam("now"),
    }
    return rows, values


def _locked_in_key_order() -> Any:
    """A condition that locks the named rows in (warehouse, SKU) order before anything else.

    Uncorrelated: PostgreSQL evaluates it once, before the update touches a row, so every row
    is locked in key order first (no two movers deadlock).
    """
    keys = (
        func.unnest(
            bindparam("warehouses", type_=ARRAY(Uuid)), bindparam("skus", type_=ARRAY(Uuid))
        )
        .table_valued(column("w", Uuid), column("s", Uuid))
        .render_derived(name="k")
    )
    in_order = (
        select(literal(1))
        .select_from(LEVELS)
        .join(keys, and_(LEVELS.c.warehouse_id == keys.c.w, LEVELS.c.sku_id == keys.c.s))
        .order_by(LEVELS.c.warehouse_id, LEVELS.c.sku_id)
        .with_for_update(of=LEVELS)
        .subquery("locked")
    )
    return select(func.count()).select_from(in_order).scalar_subquery() >= 0


def _logged_if_all_moved(v: Any, moved: Any) -> Any:
    """The movements of ``v``, appended only if every row of ``v`` moved."""
    m = MOVEMENTS.c
    return (
        insert(MOVEMENTS)
        .from_select(
            [
                *(m.id, m.at, m.warehouse_id, m.sku_id, m.kind, m.on_hand_delta),
                *(m.reserved_delta, m.reference, m.reason, m.actor_id),
            ],
            select(
                v.c.id,
                bindparam("at", type_=m.at.type),
                v.c.w,
                v.c.s,
                bindparam("kind", type_=m.kind.type),
                v.c.h,
                v.c.r,
                bindparam("reference", type_=m.reference.type),
                bindparam("reason", type_=m.reason.type),
                bindparam("actor", type_=m.actor_id.type),
            ).where(
                select(func.count()).select_from(moved).scalar_subquery()
                == func.cardinality(bindparam("ids", type_=ARRAY(Uuid)))
            ),
        )
        .cte("logged")
    )


def _batch_statements() -> tuple[Any, Any]:
    """PostgreSQL, one statement: lock the rows in key order, move them all with one
    ``UPDATE ... FROM unnest``, and append the movements only if every row moved."""
    v = _deltas(ids=True)
    rows, values = _moving(v)
    moved = (
        rows.where(
            _locked_in_key_order(),
            LEVELS.c.reserved + v.c.r >= 0,
            LEVELS.c.on_hand + v.c.h - (LEVELS.c.reserved + v.c.r) >= 0,
            LEVELS.c.on_hand + v.c.h <= MAX_ON_HAND,
        )
        .values(values)
        .returning(
            LEVELS.c.warehouse_id,
            LEVELS.c.sku_id,
            LEVELS.c.on_hand,
            LEVELS.c.reserved,
            _safety_of_row().label("safety"),
        )
        .cte("moved")
    )
    move_and_log = select(*moved.c).add_cte(_logged_if_all_moved(v, moved))
    undo_rows, undo_values = _moving(_deltas(ids=False))
    return move_and_log, undo_rows.values(undo_values)


MOVE_AND_LOG, UNDO_BATCH = _batch_statements()


def batch_params(moves: list[tuple[Key, int, int]]) -> dict[str, Any]:
    """The parameters of the batch statements for ((warehouse, SKU), on hand, reserved) moves."""
    return {
        "warehouses": [k[0] for k, _, _ in moves],
        "skus": [k[1] for k, _, _ in moves],
        "on_hand_deltas": [h for _, h, _ in moves],
        "reserved_deltas": [r for _, _, r in moves],
        "now": utcnow(),
    }


def move_params(key: Key, on_hand: int, reserved: int) -> dict[str, Any]:
    """The parameters of the one-row statements."""
    return {
        "warehouse": key[0],
        "sku": key[1],
        "on_hand_delta": on_hand,
        "reserved_delta": reserved,
        "now": utcnow(),
    }
