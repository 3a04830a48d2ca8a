"""Ordering activity per dealer over a period, for other domains' reports (pilots)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.orders.models import Order, OrderLine, OrderStatus
from server.promotions import OrderActivity

# Cancelled and rejected orders never became business: they are not activity.
NOT_PLACED = (OrderStatus.CANCELLED, OrderStatus.REJECTED)
LISTED = 1000
"""Up to this many dealers are named in the statement (``IN``, one chunk); more are read in one
pass over the period's orders and picked here: a 10,000-dealer pilot is then two statements
instead of twenty, each reading the period once."""


async def dealer_order_activity(
    session: AsyncSession,
    dealer_ids: Sequence[uuid.UUID],
    since: datetime | None,
    until: datetime | None,
    *,
    skus: bool = True,
) -> dict[uuid.UUID, OrderActivity]:
    """Per dealer with any, the orders placed in ``[since, until)`` and not cancelled or
    rejected (``skus=False``: without counting distinct SKUs, the costly part)."""
    wanted = set(dealer_ids)
    if not wanted:
        return {}
    where: list[ColumnElement[bool]] = [Order.status.not_in(NOT_PLACED)]
    if len(wanted) <= LISTED:
        where.append(Order.dealer_id.in_(sorted(wanted)))
    if since is not None:
        where.append(Order.created_at >= since)
    if until is not None:
        where.append(Order.created_at < until)
    totals = await session.execute(
        select(Order.dealer_id, func.count(), func.sum(Order.amount))
        .where(*where)
        .group_by(Order.dealer_id)
    )
    breadth: dict[Any, int] = {}
    if skus:
        counted = await session.execute(
            select(Order.dealer_id, func.count(OrderLine.sku_code.distinct()))
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(*where, OrderLine.gift.is_(False))
            .group_by(Order.dealer_id)
        )
        breadth = {dealer_id: count for dealer_id, count in counted}
    return {
        dealer_id: OrderActivity(
            orders=orders, sku_count=breadth.get(dealer_id, 0), amount=int(amount or 0)
        )
        for dealer_id, orders, amount in totals
        if dealer_id in wanted
    }
