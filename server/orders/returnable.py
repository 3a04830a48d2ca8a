"""What the returns domain may know of an order and do to its goods (no HTTP, never commits).

    returnable_order(session, order_id, dealer_id) -> ReturnableOrder   (row-locked)
    take_back_goods(session, order_id, by_sku, reason=, unsellable=)     (stock moves)

``returnable_order`` locks the order's row: every return request of one order queues there,
so concurrent requests see each other's quantities and never return more than shipped.
Another dealer's order is 404 ``order_not_found`` (its existence is not leaked).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Conflict, NotFound
from server.inventory import MovementKind, StockLine, get_reservation, return_stock
from server.orders.models import OrderStatus
from server.orders.service import stock_reference
from server.orders.transitions import locked_order


class ReturnableLine(msgspec.Struct, frozen=True, kw_only=True):
    """One order line as paid: ``amount`` is what the dealer pays for all ``qty`` units."""

    line: int
    sku_id: uuid.UUID
    sku_code: str
    sku_name: str
    qty: int
    shipped: int
    unit_price: int
    amount: int
    gift: bool


class ReturnableOrder(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    dealer_id: uuid.UUID
    status: OrderStatus
    currency: str
    amount: int
    captured: int
    last_shipped_at: datetime | None
    lines: tuple[ReturnableLine, ...]

    @property
    def reference(self) -> str:
        """The reference of the order's funds hold and stock reservation."""
        return stock_reference(self.id)


async def returnable_order(
    session: AsyncSession, order_id: uuid.UUID, dealer_id: uuid.UUID | None
) -> ReturnableOrder:
    """The order, row-locked, as a return sees it (404 for another dealer's)."""
    try:
        order = await locked_order(session, order_id)
    except NotFound:
        order = None
    if order is None or (dealer_id is not None and order.dealer_id != dealer_id):
        raise NotFound("order_not_found", "订单不存在", "No such order")
    return ReturnableOrder(
        id=order.id,
        dealer_id=order.dealer_id,
        status=order.status,
        currency=order.currency,
        amount=order.amount,
        captured=order.captured,
        last_shipped_at=max((s.shipped_at for s in order.shipments), default=None),
        lines=tuple(
            ReturnableLine(
                line=ln.line,
                sku_id=ln.sku_id,
                sku_code=ln.sku_code,
                sku_name=ln.sku_name,
                qty=ln.qty,
                shipped=ln.shipped,
                unit_price=ln.unit_price,
                amount=ln.amount,
                gift=ln.gift,
            )
            for ln in order.lines
        ),
    )


async def take_back_goods(
    session: AsyncSession,
    order_id: uuid.UUID,
    by_sku: dict[uuid.UUID, int],
    *,
    reason: str,
    unsellable: MovementKind | None = None,
) -> None:
    """Receive returned goods into the warehouses they were shipped from (each at most what it
    shipped and has not taken back); ``unsellable`` moves them out again as quarantine/scrap."""
    reference = stock_reference(order_id)
    reservation = await get_reservation(session, reference)
    lines: list[StockLine] = []
    left = dict(by_sku)
    for rl in reservation.lines:
        take = min(left.get(rl.sku_id, 0), rl.shipped - rl.returned)
        if take > 0:
            lines.append(StockLine(warehouse_id=rl.warehouse_id, sku_id=rl.sku_id, quantity=take))
            left[rl.sku_id] -= take
    if any(v > 0 for v in left.values()):
        raise Conflict(
            "return_exceeds_shipment", "退货数量超过已发货数量", "Returning more than was shipped"
        )
    if lines:
        await return_stock(session, reference, lines, reason=reason, unsellable=unsellable)
