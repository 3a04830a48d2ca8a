"""Figures about orders for HQ's overview: today's orders and amount, the review queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.orders.models import Order, OrderStatus

_NOT_PLACED = (OrderStatus.CANCELLED, OrderStatus.REJECTED)


async def orders_since(session: AsyncSession, since: datetime) -> tuple[int, int]:
    """How many orders were placed since ``since`` and their payable (fen), cancelled left out."""
    row = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Order.amount), 0)).where(
                Order.created_at >= since, Order.status.not_in(_NOT_PLACED)
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def orders_in_review(session: AsyncSession) -> int:
    """How many submitted orders wait for HQ."""
    return int(
        (
            await session.execute(select(func.count()).where(Order.status == OrderStatus.SUBMITTED))
        ).scalar_one()
    )
