"""Region hierarchy: province > city > district."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.db.repository import flush_or_conflict, get_or_404, keyset_page
from server.errors import Conflict, Invalid
from server.identity.principal import Principal
from server.regions.models import Region, RegionLevel
from server.regions.schemas import RegionCreate, RegionUpdate

_PARENT_LEVEL = {RegionLevel.CITY: RegionLevel.PROVINCE, RegionLevel.DISTRICT: RegionLevel.CITY}


_LEVEL_ZH = {RegionLevel.PROVINCE: "省级", RegionLevel.CITY: "市级", RegionLevel.DISTRICT: "区县级"}


async def create_region(session: AsyncSession, actor: Principal, body: RegionCreate) -> Region:
    expected_parent = _PARENT_LEVEL.get(body.level)
    if expected_parent is None and body.parent_code is not None:
        raise Invalid(
            "region_parent_not_allowed",
            "省级地区不能有上级",
            "A province has no parent",
            errors=[
                {
                    "key": "parentCode",
                    "message": "省级地区须留空",
                    "message_en": "must be empty for a province",
                }
            ],
        )
    if expected_parent is not None:
        if body.parent_code is None:
            raise Invalid(
                "region_parent_required",
                "需要指定上级地区",
                "A parent region is required",
                errors=[{"key": "parentCode", "message": "必填", "message_en": "required"}],
            )
        parent = await get_or_404(session, Region, body.parent_code, "region")
        if parent.level is not expected_parent:
            raise Invalid(
                "region_parent_level",
                f"上级地区须为{_LEVEL_ZH[expected_parent]}",
                f"The parent must be a {expected_parent}",
                errors=[
                    {
                        "key": "parentCode",
                        "message": f"上级须为{_LEVEL_ZH[expected_parent]}",
                        "message_en": f"must be a {expected_parent}",
                    }
                ],
            )
    region = Region(code=body.code, name=body.name, level=body.level, parent_code=body.parent_code)
    session.add(region)
    await flush_or_conflict(session, "region_exists")
    record(session, actor, "region.created", "region", region.code, {"name": body.name})
    return region


async def update_region(
    session: AsyncSession, actor: Principal, code: str, body: RegionUpdate
) -> Region:
    region = await get_or_404(session, Region, code, "region")
    if body.name is not None:
        region.name = body.name
    record(session, actor, "region.updated", "region", code, {"name": body.name})
    return region


async def delete_region(session: AsyncSession, actor: Principal, code: str) -> None:
    region = await get_or_404(session, Region, code, "region")
    children = await session.scalar(select(func.count()).where(Region.parent_code == code))
    if children:
        raise Conflict(
            "region_has_children", "该地区下还有下级地区", "The region still has child regions"
        )
    await session.delete(region)
    await flush_or_conflict(session, "region_in_use")
    record(session, actor, "region.deleted", "region", code)


async def list_regions(
    session: AsyncSession,
    parent_code: str | None,
    level: RegionLevel | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Region], str | None]:
    stmt = select(Region)
    if parent_code is not None:
        stmt = stmt.where(Region.parent_code == parent_code)
    if level is not None:
        stmt = stmt.where(Region.level == level)
    return await keyset_page(session, stmt, Region.code, cursor, limit)


async def ancestry(session: AsyncSession, code: str) -> list[str]:
    """The region and its ancestors, most specific first (for scope and price resolution)."""
    chain: list[str] = []
    current: str | None = code
    while current is not None and len(chain) < 8:
        region = await session.get(Region, current)
        if region is None:
            break
        chain.append(region.code)
        current = region.parent_code
    return chain


async def region_names(session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    """The name of each of these region codes (unknown codes are left out)."""
    wanted = set(codes)
    if not wanted:
        return {}
    rows = await session.execute(select(Region.code, Region.name).where(Region.code.in_(wanted)))
    return {r.code: r.name for r in rows}
