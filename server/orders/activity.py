"""Ordering activity per dealer over a period, for other domains' reports (pilots)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.orders.models import Order, OrderLine, OrderStatus
from server.promotions import OrderActivity

# Cancelled and rejected orders never became business: they are not activity.
NOT_PLACED = (OrderStatus.CANCELLED, OrderStatus.REJECTED)


async def dealer_order_activity(
    session: AsyncSession,
    dealer_ids: Sequence[uuid.UUID],
    since: datetime | None,
    until: datetime | None,
) -> dict[uuid.UUID, OrderActivity]:
    """Per dealer with any, the orders placed in ``[since, until)`` and not cancelled or rejected."""
    out: dict[uuid.UUID, OrderActivity] = {}
    for start in range(0, len(dealer_ids), 1000):
        chunk = list(dealer_ids[start : start + 1000])
        where: list[ColumnElement[bool]] = [
            Order.dealer_id.in_(chunk),
            Order.status.not_in(NOT_PLACED),
        ]
        if since is not None:
            where.append(Order.created_at >= since)
        if until is not None:
            where.append(Order.created_at < until)
        totals = await session.execute(
            select(Order.dealer_id, func.count(), func.sum(Order.amount))
            .where(*where)
            .group_by(Order.dealer_id)
        )
        lines = await session.execute(
            select(Order.dealer_id, OrderLine.sku_code)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(*where, OrderLine.gift.is_(False))
            .distinct()
        )
        skus: dict[uuid.UUID, set[str]] = {}
        for dealer_id, sku in lines:
            skus.setdefault(dealer_id, set()).add(sku)
        for dealer_id, orders, amount in totals:
            out[dealer_id] = OrderActivity(
                orders=orders, skus=frozenset(skus.get(dealer_id, ())), amount=int(amount or 0)
            )
    return out
