"""HQ's stock operations: goods received or returned, adjustments, and counted figures.

Each checks its warehouse and SKU, makes sure the level exists, moves it through the one
write path (``stock.move``) and answers the level as it is now; a refused move is a 409 that
says what the level holds.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog import require_sku
from server.errors import Conflict, Invalid
from server.inventory.models import MovementKind, StockLevel
from server.inventory.stock import MAX_ON_HAND, check_quantity, ensure_levels, move, read_level
from server.warehouses import require_warehouse


async def _check_place(session: AsyncSession, warehouse_id: uuid.UUID, sku_id: uuid.UUID) -> None:
    await require_warehouse(session, warehouse_id)
    await require_sku(session, sku_id)


def _refused(reason_code: str, level: StockLevel | None, zh: str, en: str) -> Conflict:
    on_hand, reserved = (level.on_hand, level.reserved) if level else (0, 0)
    return Conflict(reason_code, zh, en, onHand=on_hand, reserved=reserved)


async def _move_or_refuse(
    session: AsyncSession,
    warehouse_id: uuid.UUID,
    sku_id: uuid.UUID,
    kind: MovementKind,
    delta: int,
    reference: str,
    reason: str,
    actor_id: uuid.UUID | None,
) -> StockLevel:
    """Move on-hand stock by ``delta`` and answer the level now; a refused move is a 409 that
    says what the level holds (above the maximum when growing, below reserved when shrinking)."""
    if not await move(
        session,
        warehouse_id,
        sku_id,
        kind,
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
    return await _move_or_refuse(
        session, warehouse_id, sku_id, kind, quantity, reference, reason, actor_id
    )


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
    return await _move_or_refuse(
        session, warehouse_id, sku_id, MovementKind.ADJUSTMENT, delta, reference, reason, actor_id
    )


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
