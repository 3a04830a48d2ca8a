"""What a dealer is told of its order (``server.notifications``): approved, shipped (each
shipment), rejected; told once per order and decision (per shipment for shipping)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.notifications import EventKind, note_event
from server.orders.models import Order, OrderStatus

_KINDS = {
    OrderStatus.APPROVED: (EventKind.ORDER_APPROVED, "approved"),
    OrderStatus.REJECTED: (EventKind.ORDER_REJECTED, "rejected"),
    OrderStatus.PARTIALLY_SHIPPED: (EventKind.ORDER_SHIPPED, "shipped"),
    OrderStatus.SHIPPED: (EventKind.ORDER_SHIPPED, "shipped"),
}


def order_no(order: Order) -> str:
    """The order's number as a person reads it: its id's first 12 hex digits."""
    return order.id.hex[:12].upper()


def note_order_notice(session: AsyncSession, order: Order, now: datetime, comment: str) -> None:
    """Tell the dealer, at commit, that its order was approved, shipped or rejected."""
    found = _KINDS.get(order.status)
    if found is None:
        return
    kind, status = found
    params: dict[str, str | int | datetime | None] = {
        "orderNo": order_no(order),
        "amount": order.amount,
        "status": status,
        "at": now,
    }
    key = str(order.id)
    if kind is EventKind.ORDER_SHIPPED:
        params["shipment"] = comment
        key = f"{order.id}/{len(order.shipments)}"
    elif kind is EventKind.ORDER_REJECTED:
        params["reason"] = comment
    note_event(session, kind, key, dealer_ids=[order.dealer_id], params=params)
