"""What an invoice (发票) can cover: an order's shipments at the price paid, net of rebate spent.

A shipment's goods amount is what it captured (each line's amount after breaks, promotions
and order discounts, in proportion to the units shipped). Rebate spent on the order (返利抵扣)
is a discount on its invoice: it is shared over the order's shipments in proportion to what
each captured, the running total rounded down, so the shares add up exactly to the order's
rebate once everything has shipped and the same shipment always gets the same share.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.orders.models import Order, OrderShipment, OrderStatus

FULLY_SHIPPED = frozenset({OrderStatus.SHIPPED, OrderStatus.RECEIVED, OrderStatus.COMPLETED})


class ShipmentBasis(msgspec.Struct, frozen=True, kw_only=True):
    """One shipment as an invoice sees it (amounts in fen)."""

    id: uuid.UUID
    order_id: uuid.UUID
    dealer_id: uuid.UUID
    shipped_at: datetime
    goods: int
    rebate: int

    @property
    def net(self) -> int:
        """The amount to invoice: goods at the price paid, less the rebate share."""
        return self.goods - self.rebate


class OrderBasis(msgspec.Struct, frozen=True, kw_only=True):
    """An order's shipments for invoicing; ``complete``: every unit has shipped."""

    order_id: uuid.UUID
    dealer_id: uuid.UUID
    currency: str
    complete: bool
    shipments: tuple[ShipmentBasis, ...]


_COLUMNS = (
    Order.id,
    Order.dealer_id,
    Order.currency,
    Order.status,
    Order.amount,
    Order.rebate,
    OrderShipment.id,
    OrderShipment.captured,
    OrderShipment.shipped_at,
)


def _bases(rows: Iterable[Sequence[Any]]) -> dict[uuid.UUID, OrderBasis]:
    """Rows ordered by order, then shipping time: each shipment's rebate share."""
    out: dict[uuid.UUID, OrderBasis] = {}
    running: dict[uuid.UUID, tuple[int, int]] = {}  # order -> (captured so far, rebate so far)
    for order_id, dealer_id, currency, status, amount, rebate, ship_id, captured, at in rows:
        basis = out.get(order_id) or OrderBasis(
            order_id=order_id,
            dealer_id=dealer_id,
            currency=str(currency),
            complete=status in FULLY_SHIPPED,
            shipments=(),
        )
        if ship_id is not None:
            done, shared = running.get(order_id, (0, 0))
            done += captured
            share = (rebate * done // amount if amount > 0 else 0) - shared
            running[order_id] = (done, shared + share)
            shipment = ShipmentBasis(
                id=ship_id,
                order_id=order_id,
                dealer_id=dealer_id,
                shipped_at=at,
                goods=captured,
                rebate=share,
            )
            basis = msgspec.structs.replace(basis, shipments=(*basis.shipments, shipment))
        out[order_id] = basis
    return out


async def invoice_bases(
    session: AsyncSession, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, OrderBasis]:
    """The given orders with their shipments (dealer scoping applies: others are absent)."""
    if not order_ids:
        return {}
    stmt = (
        select(*_COLUMNS)
        .outerjoin(OrderShipment, OrderShipment.order_id == Order.id)
        .where(Order.id.in_(order_ids))
        .order_by(Order.id, OrderShipment.shipped_at, OrderShipment.id)
    )
    return _bases((await session.execute(stmt)).all())


async def shipment_orders(
    session: AsyncSession, shipment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """shipment id -> order id, for the shipments of orders this session may see."""
    if not shipment_ids:
        return {}
    stmt = (
        select(OrderShipment.id, OrderShipment.order_id)
        .join(Order, Order.id == OrderShipment.order_id)
        .where(OrderShipment.id.in_(shipment_ids))
    )
    return {s: o for s, o in (await session.execute(stmt)).all()}


async def dealer_shipments(
    session: AsyncSession, dealer_id: uuid.UUID, until: datetime | None = None
) -> list[ShipmentBasis]:
    """Every shipment of the dealer's orders (shipped before ``until``), with its net amount."""
    stmt = (
        select(*_COLUMNS)
        .join(OrderShipment, OrderShipment.order_id == Order.id)
        .where(Order.dealer_id == dealer_id)
        .order_by(Order.id, OrderShipment.shipped_at, OrderShipment.id)
    )
    shipments = [
        s for b in _bases((await session.execute(stmt)).all()).values() for s in b.shipments
    ]
    return [s for s in shipments if until is None or s.shipped_at < until]
