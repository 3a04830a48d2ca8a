"""The stock ledger's one write path, and the rebuild of balances from movements.

Every change goes through :func:`move`: a conditional ``UPDATE`` of the cached level whose
``WHERE`` re-checks the invariants (``0 <= reserved <= on_hand <= MAX_ON_HAND``) against the
row as it is when the update runs. On PostgreSQL a concurrent writer of the same row waits
for the row lock and then re-evaluates the condition on the committed row, so two
reservations can never both take the last unit; on SQLite write transactions are serial
(``BEGIN IMMEDIATE``). Only when the update succeeded is the movement appended.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

import msgspec
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
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.models import Sku
from server.db import fast
from server.db.base import utcnow
from server.db.dialect import insert_ignoring_duplicates, is_postgresql
from server.db.repository import get_or_404
from server.errors import Conflict, Invalid
from server.inventory.models import (
    MovementKind,
    SkuSafetyStock,
    StockLevel,
    StockMovement,
    WarehouseStockPolicy,
)
from server.inventory.publication import note_stock_level
from server.warehouses.models import Warehouse

MAX_QUANTITY = 100_000_000
"""The largest quantity one line, feed item or adjustment may carry."""
MAX_ON_HAND = 1_000_000_000
"""No warehouse holds more of one SKU than this: a figure above it is a typo, not stock."""

Key = tuple[uuid.UUID, uuid.UUID]


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
            errors=[{"key": what, "message": f"got {quantity!r}"}],
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


def _safety_of_row() -> Any:
    """The safety stock that applies to the updated row, read inside the UPDATE itself."""
    by_sku = (
        select(SkuSafetyStock.quantity)
        .where(SkuSafetyStock.sku_id == _LEVELS.c.sku_id)
        .scalar_subquery()
    )
    by_warehouse = (
        select(WarehouseStockPolicy.safety_stock)
        .where(WarehouseStockPolicy.warehouse_id == _LEVELS.c.warehouse_id)
        .scalar_subquery()
    )
    return func.coalesce(by_sku, by_warehouse, 0)


_LEVELS = cast(Table, StockLevel.__table__)
_ON_HAND, _RESERVED = bindparam("on_hand_delta"), bindparam("reserved_delta")
_MOVE_ROW = _LEVELS.update().where(
    _LEVELS.c.warehouse_id == bindparam("warehouse"), _LEVELS.c.sku_id == bindparam("sku")
)
_MOVE_VALUES = {
    "on_hand": _LEVELS.c.on_hand + _ON_HAND,
    "reserved": _LEVELS.c.reserved + _RESERVED,
    "updated_at": bindparam("now"),
}
_MOVE_RETURNING = (_LEVELS.c.on_hand, _LEVELS.c.reserved, _safety_of_row())
# Built once: a statement's construction costs more than its execution on this hot path.
_CHECKED_MOVE = (
    _MOVE_ROW.where(
        _LEVELS.c.reserved + _RESERVED >= 0,
        _LEVELS.c.on_hand + _ON_HAND - (_LEVELS.c.reserved + _RESERVED) >= 0,
        _LEVELS.c.on_hand + _ON_HAND <= MAX_ON_HAND,
    )
    .values(_MOVE_VALUES)
    .returning(*_MOVE_RETURNING)
)
_UNDO_MOVE = _MOVE_ROW.values(_MOVE_VALUES)
_MOVEMENTS = cast(Table, StockMovement.__table__)


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
    rows = _LEVELS.update().where(_LEVELS.c.warehouse_id == v.c.w, _LEVELS.c.sku_id == v.c.s)
    values = {
        "on_hand": _LEVELS.c.on_hand + v.c.h,
        "reserved": _LEVELS.c.reserved + v.c.r,
        "updated_at": bindparam("now"),
    }
    return rows, values


def _batch_statements() -> tuple[Any, Any]:
    """PostgreSQL, one statement: lock the rows in key order, move them all with one
    ``UPDATE ... FROM unnest``, and append the movements only if every row moved."""
    keys = (
        func.unnest(
            bindparam("warehouses", type_=ARRAY(Uuid)), bindparam("skus", type_=ARRAY(Uuid))
        )
        .table_valued(column("w", Uuid), column("s", Uuid))
        .render_derived(name="k")
    )
    in_order = (
        select(literal(1))
        .select_from(_LEVELS)
        .join(keys, and_(_LEVELS.c.warehouse_id == keys.c.w, _LEVELS.c.sku_id == keys.c.s))
        .order_by(_LEVELS.c.warehouse_id, _LEVELS.c.sku_id)
        .with_for_update(of=_LEVELS)
        .subquery("locked")
    )
    # An uncorrelated condition: PostgreSQL evaluates it once, before the update touches a
    # row, so every row is locked in key order first (no two movers deadlock).
    locked_first = select(func.count()).select_from(in_order).scalar_subquery() >= 0
    v = _deltas(ids=True)
    rows, values = _moving(v)
    moved = (
        rows.where(
            locked_first,
            _LEVELS.c.reserved + v.c.r >= 0,
            _LEVELS.c.on_hand + v.c.h - (_LEVELS.c.reserved + v.c.r) >= 0,
            _LEVELS.c.on_hand + v.c.h <= MAX_ON_HAND,
        )
        .values(values)
        .returning(
            _LEVELS.c.warehouse_id,
            _LEVELS.c.sku_id,
            _LEVELS.c.on_hand,
            _LEVELS.c.reserved,
            _safety_of_row().label("safety"),
        )
        .cte("moved")
    )
    m = _MOVEMENTS.c
    logged = (
        insert(_MOVEMENTS)
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
    move_and_log = select(*moved.c).add_cte(logged)
    undo_rows, undo_values = _moving(_deltas(ids=False))
    undo = undo_rows.values(undo_values)
    return move_and_log, undo


_MOVE_AND_LOG, _UNDO_BATCH = _batch_statements()


def _batch_params(moves: list[tuple[Key, int, int]]) -> dict[str, Any]:
    return {
        "warehouses": [k[0] for k, _, _ in moves],
        "skus": [k[1] for k, _, _ in moves],
        "on_hand_deltas": [h for _, h, _ in moves],
        "reserved_deltas": [r for _, _, r in moves],
        "now": utcnow(),
    }


async def _move_and_log(
    session: AsyncSession,
    keys: list[Key],
    merged: dict[Key, list[int]],
    log: dict[str, Any],
) -> dict[Key, tuple[int, int, int]]:
    """PostgreSQL: move the rows and, if all of them moved, append the movements (one trip)."""
    params = _batch_params([(k, merged[k][0], merged[k][1]) for k in keys])
    params.update(log, ids=[uuid.uuid4() for _ in keys], at=params["now"])
    rows = await fast.rows(session, _MOVE_AND_LOG, params)
    return {(r[0], r[1]): (int(r[2]), int(r[3]), int(r[4])) for r in rows}


async def _apply(
    session: AsyncSession, keys: list[Key], merged: dict[Key, list[int]]
) -> dict[Key, tuple[int, int, int]]:
    """Row by row in key order: (on hand, reserved, safety) after, by key, of those moved."""
    moved: dict[Key, tuple[int, int, int]] = {}
    for key in keys:
        on_hand, reserved = merged[key]
        row = (await session.execute(_CHECKED_MOVE, _move_params(key, on_hand, reserved))).first()
        if row is not None:
            figures_row: tuple[Any, ...] = tuple(row)
            moved[key] = (int(figures_row[0]), int(figures_row[1]), int(figures_row[2]))
    return moved


async def _undo(session: AsyncSession, keys: list[Key], merged: dict[Key, list[int]]) -> None:
    if is_postgresql(session):
        params = _batch_params([(k, -merged[k][0], -merged[k][1]) for k in keys])
        await fast.rows(session, _UNDO_BATCH, params)
        return
    for key in keys:
        on_hand, reserved = merged[key]
        await session.execute(_UNDO_MOVE, _move_params(key, -on_hand, -reserved))


def _move_params(key: Key, on_hand: int, reserved: int) -> dict[str, Any]:
    return {
        "warehouse": key[0],
        "sku": key[1],
        "on_hand_delta": on_hand,
        "reserved_delta": reserved,
        "now": utcnow(),
    }


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
    merged: dict[Key, list[int]] = {}
    for d in deltas:
        if d.on_hand or d.reserved:
            pair = merged.setdefault((d.warehouse_id, d.sku_id), [0, 0])
            pair[0] += d.on_hand
            pair[1] += d.reserved
    keys = sorted(merged, key=lambda k: (str(k[0]), str(k[1])))
    if not keys:
        return []
    postgresql = is_postgresql(session)
    if postgresql:
        log = {"kind": kind, "reference": reference, "reason": reason, "actor": actor_id}
        moved = await _move_and_log(session, keys, merged, log)
    else:
        moved = await _apply(session, keys, merged)
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
        now = utcnow()
        await session.execute(
            insert(_MOVEMENTS),
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
    _LEVELS.c.warehouse_id, _LEVELS.c.sku_id, _LEVELS.c.on_hand - _LEVELS.c.reserved
).where(
    _LEVELS.c.warehouse_id.in_(bindparam("warehouses", expanding=True)),
    _LEVELS.c.sku_id.in_(bindparam("skus", expanding=True)),
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


async def _check_place(session: AsyncSession, warehouse_id: uuid.UUID, sku_id: uuid.UUID) -> None:
    await get_or_404(session, Warehouse, warehouse_id, "warehouse")
    await get_or_404(session, Sku, sku_id, "sku")


def _refused(reason_code: str, level: StockLevel | None, zh: str, en: str) -> Conflict:
    on_hand, reserved = (level.on_hand, level.reserved) if level else (0, 0)
    return Conflict(reason_code, zh, en, onHand=on_hand, reserved=reserved)


async def receive_stock(
    session: AsyncSession,
    warehouse_id: uuid.UUID,
    sku_id: uuid.UUID,
    quantity: int,
    *,
    reference: str = "",
    reason: str = "",
    actor_id: uuid.UUID | None = None,
    kind: MovementKind = MovementKind.RECEIPT,
) -> StockLevel:
    """Goods arrived (receipt) or came back (return): on hand grows."""
    check_quantity(quantity)
    await _check_place(session, warehouse_id, sku_id)
    await ensure_levels(session, [(warehouse_id, sku_id)])
    if not await move(
        session,
        warehouse_id,
        sku_id,
        kind,
        on_hand=quantity,
        reference=reference,
        reason=reason,
        actor_id=actor_id,
    ):
        raise _refused(
            "stock_too_large",
            await read_level(session, warehouse_id, sku_id),
            "库存数量超出上限",
            f"On hand would exceed {MAX_ON_HAND}",
        )
    level = await read_level(session, warehouse_id, sku_id)
    assert level is not None
    return level


async def adjust_stock(
    session: AsyncSession,
    warehouse_id: uuid.UUID,
    sku_id: uuid.UUID,
    delta: int,
    *,
    reason: str,
    reference: str = "",
    actor_id: uuid.UUID | None = None,
) -> StockLevel:
    """Add or remove on-hand stock (count corrections, damage); never below what is reserved."""
    if delta == 0 or isinstance(delta, bool):
        raise Invalid("quantity_invalid", "调整数量不能为 0", "An adjustment must not be zero")
    check_quantity(abs(delta), "delta")
    await _check_place(session, warehouse_id, sku_id)
    await ensure_levels(session, [(warehouse_id, sku_id)])
    if not await move(
        session,
        warehouse_id,
        sku_id,
        MovementKind.ADJUSTMENT,
        on_hand=delta,
        reference=reference,
        reason=reason,
        actor_id=actor_id,
    ):
        level = await read_level(session, warehouse_id, sku_id)
        if delta > 0:
            raise _refused(
                "stock_too_large", level, "库存数量超出上限", f"On hand would exceed {MAX_ON_HAND}"
            )
        raise _refused(
            "stock_below_reserved",
            level,
            "调整后库存将低于已预占数量",
            "On hand would fall below the reserved quantity",
        )
    level = await read_level(session, warehouse_id, sku_id)
    assert level is not None
    return level


async def set_stock(
    session: AsyncSession,
    warehouse_id: uuid.UUID,
    sku_id: uuid.UUID,
    on_hand: int,
    *,
    reason: str,
    reference: str = "",
    actor_id: uuid.UUID | None = None,
) -> StockLevel:
    """Set on hand to a counted figure (recorded as an adjustment by the difference)."""
    if isinstance(on_hand, bool) or not isinstance(on_hand, int) or not 0 <= on_hand <= MAX_ON_HAND:
        raise Invalid("quantity_invalid", "库存数量不合法", f"on hand must be 0..{MAX_ON_HAND}")
    await _check_place(session, warehouse_id, sku_id)
    await ensure_levels(session, [(warehouse_id, sku_id)])
    level = await read_level(session, warehouse_id, sku_id, lock=True)
    assert level is not None
    if on_hand < level.reserved:
        raise _refused(
            "stock_below_reserved",
            level,
            "盘点数量低于已预占数量",
            "The counted figure is below the reserved quantity",
        )
    delta = on_hand - level.on_hand
    if delta:
        moved = await move(
            session,
            warehouse_id,
            sku_id,
            MovementKind.ADJUSTMENT,
            on_hand=delta,
            reference=reference,
            reason=reason,
            actor_id=actor_id,
        )
        assert moved  # the row is locked: nothing changed it since we read it
        level = await read_level(session, warehouse_id, sku_id)
        assert level is not None
    return level


async def rebuild_levels(session: AsyncSession) -> dict[Key, tuple[int, int]]:
    """(on_hand, reserved) of every (warehouse, SKU), summed from the movement ledger alone."""
    rows = await session.execute(
        select(
            StockMovement.warehouse_id,
            StockMovement.sku_id,
            func.sum(StockMovement.on_hand_delta),
            func.sum(StockMovement.reserved_delta),
        ).group_by(StockMovement.warehouse_id, StockMovement.sku_id)
    )
    return {(w, s): (int(h or 0), int(r or 0)) for w, s, h, r in rows}


async def level_drift(session: AsyncSession) -> list[tuple[Key, tuple[int, int], tuple[int, int]]]:
    """Levels whose cached figures differ from the ledger: (key, stored, rebuilt); [] if sound."""
    rebuilt: dict[Key, tuple[int, int]] = defaultdict(lambda: (0, 0), await rebuild_levels(session))
    stored = {
        (r.warehouse_id, r.sku_id): (r.on_hand, r.reserved)
        for r in (
            await session.execute(select(StockLevel).execution_options(populate_existing=True))
        ).scalars()
    }
    keys = set(stored) | set(rebuilt)
    return sorted(
        (
            (k, stored.get(k, (0, 0)), rebuilt[k])
            for k in keys
            if stored.get(k, (0, 0)) != rebuilt[k]
        ),
        key=lambda d: (str(d[0][0]), str(d[0][1])),
    )
