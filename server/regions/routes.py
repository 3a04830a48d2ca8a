"""HQ administration of regions."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import get_or_404
from server.identity.guards import requires_hq
from server.identity.principal import Principal
from server.regions import service
from server.regions.models import Region, RegionLevel
from server.regions.schemas import RegionCreate, RegionOut, RegionUpdate
from server.schemas import Page, path_text
from server.text import LINE_RULE

Limit = Annotated[int, QueryParameter(ge=1, le=500)]


def _out(region: Region) -> RegionOut:
    return RegionOut(
        code=region.code,
        name=region.name,
        level=region.level,
        parent_code=region.parent_code,
        created_at=region.created_at,
    )


class RegionController(Controller):
    path = "/hq/regions"
    tags = ["hq: regions"]
    guards = [requires_hq]

    @post("/", summary="Create a region", opt={"problems": (404,)})
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[RegionCreate],
    ) -> RegionOut:
        """Create a province, city or district under its parent."""
        return _out(await service.create_region(db_session, principal, data))

    @get("/", summary="List regions")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        limit: Limit = 100,
        parent_code: Annotated[
            str | None, QueryParameter(name="parentCode", max_length=12, pattern=LINE_RULE)
        ] = None,
        level: FromQuery[RegionLevel | None] = None,
        cursor: Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)] = None,
    ) -> Page[RegionOut]:
        """Regions ordered by code, filtered by parent or level."""
        rows, next_cursor = await service.list_regions(
            db_session, parent_code, level, cursor, limit
        )
        return Page(items=[_out(r) for r in rows], next_cursor=next_cursor)

    @get("/{code:str}", summary="Get a region")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], code: Annotated[str, path_text(12)]
    ) -> RegionOut:
        """One region by code."""
        return _out(await get_or_404(db_session, Region, code, "region"))

    @put("/{code:str}", summary="Rename a region")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        code: Annotated[str, path_text(12)],
        data: JSONBody[RegionUpdate],
    ) -> RegionOut:
        """Change a region's name (codes are permanent)."""
        return _out(await service.update_region(db_session, principal, code, data))

    @delete("/{code:str}", summary="Delete a region")
    async def remove(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        code: Annotated[str, path_text(12)],
    ) -> None:
        """Delete a region that nothing refers to (else 409)."""
        await service.delete_region(db_session, principal, code)
