"""Read model of the warehouses domain: what other domains may learn about a warehouse.

The warehouses domain owns the ``warehouses`` table; inventory and replication read it only
through these functions. ``warehouses_table()`` hands the order path's allocation statement
the columns it joins, so the statement stays one round trip while its owner stays named.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import get_or_404
from server.warehouses.models import Warehouse


def warehouses_table() -> Table:
    """The ``warehouses`` table (columns ``id``, ``code``, ``region_code``, ``active``)."""
    table = Warehouse.__table__
    assert isinstance(table, Table)
    return table


async def require_warehouse(
    session: AsyncSession, warehouse_id: uuid.UUID, *, for_update: bool = False
) -> None:
    """Nothing, or ``warehouse_not_found`` (404); ``for_update`` locks the row until commit."""
    await get_or_404(session, Warehouse, warehouse_id, "warehouse", for_update=for_update)


async def warehouse_code(session: AsyncSession, warehouse_id: uuid.UUID) -> str | None:
    """The warehouse's code (None when there is no such warehouse)."""
    warehouse = await session.get(Warehouse, warehouse_id)
    return warehouse.code if warehouse is not None else None


async def warehouse_ids_by_code(
    session: AsyncSession, codes: Iterable[str]
) -> dict[str, uuid.UUID]:
    """``{code: id}`` of the warehouses with these codes."""
    stmt = select(Warehouse.code, Warehouse.id).where(Warehouse.code.in_(set(codes)))
    return {code: id_ for code, id_ in (await session.execute(stmt)).all()}
