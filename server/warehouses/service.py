"""Warehouses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.db.repository import flush_or_conflict, get_or_404, keyset_page
from server.identity.principal import Principal
from server.regions import require_region
from server.schemas import set_fields
from server.warehouses.models import Warehouse
from server.warehouses.schemas import WarehouseCreate, WarehouseUpdate


async def create_warehouse(
    session: AsyncSession, actor: Principal, body: WarehouseCreate
) -> Warehouse:
    await require_region(session, body.region_code)
    warehouse = Warehouse(
        id=uuid.uuid4(),
        code=body.code,
        name=body.name,
        region_code=body.region_code,
        address=body.address,
    )
    session.add(warehouse)
    await flush_or_conflict(session, "warehouse_exists")
    record(session, actor, "warehouse.created", "warehouse", warehouse.id, {"code": body.code})
    return warehouse


async def update_warehouse(
    session: AsyncSession, actor: Principal, warehouse_id: uuid.UUID, body: WarehouseUpdate
) -> Warehouse:
    warehouse = await get_or_404(session, Warehouse, warehouse_id, "warehouse")
    changes = set_fields(body)
    if body.region_code is not None:
        await require_region(session, body.region_code)
    for field, value in changes.items():
        setattr(warehouse, field, value)
    record(session, actor, "warehouse.updated", "warehouse", warehouse.id, changes)
    return warehouse


async def delete_warehouse(
    session: AsyncSession, actor: Principal, warehouse_id: uuid.UUID
) -> None:
    warehouse = await get_or_404(session, Warehouse, warehouse_id, "warehouse")
    await session.delete(warehouse)
    await flush_or_conflict(session, "warehouse_in_use")
    record(session, actor, "warehouse.deleted", "warehouse", warehouse_id)


async def list_warehouses(
    session: AsyncSession, region_code: str | None, cursor: str | None, limit: int
) -> tuple[Sequence[Warehouse], str | None]:
    stmt = select(Warehouse)
    if region_code:
        stmt = stmt.where(Warehouse.region_code == region_code)
    return await keyset_page(session, stmt, Warehouse.code, cursor, limit)
