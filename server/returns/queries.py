"""Reading returns (dealer scoping applies), HQ's queue, the return window, the client view."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import keyset_page
from server.errors import NotFound
from server.identity.principal import Principal
from server.returns.models import ReturnRequest, ReturnSettings, ReturnStatus

DEFAULT_WINDOW_DAYS = 30


async def window_days(session: AsyncSession) -> int:
    """Days after an order's last shipment within which a return may be requested."""
    row = await session.get(ReturnSettings, 1)
    return row.window_days if row is not None else DEFAULT_WINDOW_DAYS


async def set_window_days(session: AsyncSession, actor: Principal, days: int) -> int:
    """HQ sets the return window (days after the last shipment)."""
    row = await session.get(ReturnSettings, 1)
    if row is None:
        session.add(ReturnSettings(id=1, window_days=days))
    else:
        row.window_days = days
    await session.flush()
    return days


async def get_return(
    session: AsyncSession, return_id: uuid.UUID, *, lock: bool = False
) -> ReturnRequest:
    """One return (404 ``return_not_found``, also for another dealer's)."""
    stmt = (
        select(ReturnRequest)
        .where(ReturnRequest.id == return_id)
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise NotFound("return_not_found", "退货单不存在", "No such return")
    return found


async def list_returns(
    session: AsyncSession,
    *,
    status: ReturnStatus | None = None,
    dealer_id: uuid.UUID | None = None,
    order_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[Sequence[ReturnRequest], str | None]:
    """A page of returns (dealer scoping applies), filtered by status, dealer or order."""
    stmt = select(ReturnRequest)
    if status is not None:
        stmt = stmt.where(ReturnRequest.status == status)
    if dealer_id is not None:
        stmt = stmt.where(ReturnRequest.dealer_id == dealer_id)
    if order_id is not None:
        stmt = stmt.where(ReturnRequest.order_id == order_id)
    return await keyset_page(session, stmt, ReturnRequest.id, cursor, limit)
