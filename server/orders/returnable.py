"""What the returns domain may know of an order and do to its goods (no HTTP, never commits).

    returnable_order(session, order_id, dealer_id) -> ReturnableOrder   (row-locked)
    take_back_goods(session, order_id, by_sku, reason=, unsellable=)     (stock moves)
    place_replacement(session, cache, actor, order_id, new_id, lines, ...) -> order id

A replacement (an exchange's new order) is priced at what the dealer paid on the original
order: each line's paid amount pro rata per unit (rounded down), no promotion taken again
and no budget consumed; otherwise it is placed like any order (stock reserved, funds held,
reviewed above HQ's threshold) under its own id, so a retry is a replay.

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
from server.identity.principal import Principal
from server.inventory import MovementKind, StockLine, get_reservation, return_stock
from server.orders.models import OrderLine, OrderStatus
from server.orders.pricing import Priced
from server.orders.schemas import OrderCreate, OrderLineIn
from server.orders.service import place_order, stock_reference
from server.orders.transitions import locked_order
from server.pricelists.loading import PricingCache


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


def _replacement_prices(order: ReturnableOrder, lines: list[tuple[int, int]]) -> Priced:
    """The replacement's lines at the original's paid prices (order line number, quantity)."""
    by_line = {ln.line: ln for ln in order.lines}
    out: list[OrderLine] = []
    for i, (line, qty) in enumerate(lines):
        ln = by_line[line]
        amount = ln.amount * qty // ln.qty
        out.append(
            OrderLine(
                line=i,
                sku_id=ln.sku_id,
                sku_code=ln.sku_code,
                sku_name=ln.sku_name,
                qty=qty,
                gift=ln.gift,
                unit_price=amount // qty,
                amount=amount,
            )
        )
    total = sum(ln.amount for ln in out)
    return Priced(
        lines=out,
        list_amount=total,
        discount=0,
        amount=total,
        fingerprint=f"replacement:{order.id}",
        promoted=tuple(True for _ in out),  # priced by promotions once: rebate cap excludes
    )


async def place_replacement(
    session: AsyncSession,
    cache: PricingCache,
    actor: Principal,
    order: ReturnableOrder,
    new_id: uuid.UUID,
    lines: list[tuple[int, int]],
    *,
    note: str,
    now: datetime,
) -> uuid.UUID:
    """Place the replacement order ``new_id`` for ``lines`` of ``order`` at its paid prices."""
    by_line = {ln.line: ln for ln in order.lines}
    body = OrderCreate(
        id=new_id,
        lines=[OrderLineIn(sku=by_line[n].sku_code, qty=q) for n, q in lines],
        note=note,
    )
    priced = _replacement_prices(order, lines)
    placement = await place_order(
        session, cache, actor, body, currency=order.currency, now=now, pinned=priced
    )
    return placement.order.id
