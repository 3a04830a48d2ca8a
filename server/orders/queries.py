"""Reading orders: one by id, or a page of them (dealer scoping applies to both)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import get_or_404, keyset_page
from server.orders.models import Order, OrderStatus


async def find_order(session: AsyncSession, order_id: uuid.UUID) -> Order | None:
    """The order, read fresh from the database (None: no such order, or another dealer's)."""
    stmt = select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_order(session: AsyncSession, order_id: uuid.UUID) -> Order:
    """One order (404 ``order_not_found``, also for another dealer's)."""
    return await get_or_404(session, Order, order_id, "order")


async def list_orders(
    session: AsyncSession,
    *,
    status: OrderStatus | None = None,
    dealer_id: uuid.UUID | None = None,
    review: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[Sequence[Order], str | None]:
    """A page of orders (dealer scoping applies), filtered by status or dealer."""
    stmt = select(Order)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if dealer_id is not None:
        stmt = stmt.where(Order.dealer_id == dealer_id)
    if review:
        stmt = stmt.where(Order.status == OrderStatus.SUBMITTED)
    return await keyset_page(session, stmt, Order.id, cursor, limit)
