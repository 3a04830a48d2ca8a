"""HQ administration of warehouses."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import get_or_404
from server.identity.guards import requires_hq
from server.identity.principal import Principal
from server.schemas import Page
from server.text import LINE_RULE
from server.warehouses import service
from server.warehouses.models import Warehouse
from server.warehouses.schemas import WarehouseCreate, WarehouseOut, WarehouseUpdate

Limit = Annotated[int, QueryParameter(ge=1, le=500)]


def _out(w: Warehouse) -> WarehouseOut:
    return WarehouseOut(
        id=w.id,
        code=w.code,
        name=w.name,
        region_code=w.region_code,
        address=w.address,
        active=w.active,
        created_at=w.created_at,
    )


class WarehouseController(Controller):
    path = "/hq/warehouses"
    tags = ["hq: warehouses"]
    guards = [requires_hq]

    @post("/", summary="Create a warehouse", opt={"problems": (409,)})
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[WarehouseCreate],
    ) -> WarehouseOut:
        """Create a warehouse in a region."""
        return _out(await service.create_warehouse(db_session, principal, data))

    @get("/", summary="List warehouses")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        limit: Limit = 100,
        region_code: Annotated[
            str | None, QueryParameter(name="regionCode", max_length=12, pattern=LINE_RULE)
        ] = None,
        cursor: Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)] = None,
    ) -> Page[WarehouseOut]:
        """Warehouses ordered by code."""
        rows, next_cursor = await service.list_warehouses(db_session, region_code, cursor, limit)
        return Page(items=[_out(w) for w in rows], next_cursor=next_cursor)

    @get("/{warehouse_id:uuid}", summary="Get a warehouse")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], warehouse_id: FromPath[uuid.UUID]
    ) -> WarehouseOut:
        """One warehouse."""
        return _out(await get_or_404(db_session, Warehouse, warehouse_id, "warehouse"))

    @put("/{warehouse_id:uuid}", summary="Update a warehouse")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        warehouse_id: FromPath[uuid.UUID],
        data: JSONBody[WarehouseUpdate],
    ) -> WarehouseOut:
        """Change the given fields of a warehouse."""
        return _out(await service.update_warehouse(db_session, principal, warehouse_id, data))

    @delete("/{warehouse_id:uuid}", summary="Delete a warehouse")
    async def remove(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        warehouse_id: FromPath[uuid.UUID],
    ) -> None:
        """Delete a warehouse nothing refers to (else 409; deactivate it instead)."""
        await service.delete_warehouse(db_session, principal, warehouse_id)
