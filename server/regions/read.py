"""Read model of the regions domain: what other domains may learn about the region tree.

The regions domain owns the ``regions`` table; dealers, warehouses, inventory and price lists
read it only through these functions (and ``server.regions.ancestry``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import CTE, String, any_, bindparam, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.db.repository import get_or_404
from server.regions.models import Region

MAX_REGION_DEPTH = 8


async def known_region_codes(
    executor: AsyncConnection | AsyncSession, codes: Iterable[str]
) -> set[str]:
    """Which of these codes name a region."""
    wanted = sorted(set(codes))
    if not wanted:
        return set()
    stmt = select(Region.code).where(Region.code.in_(wanted))
    return set((await executor.execute(stmt)).scalars())


async def region_exists(session: AsyncSession, code: str) -> bool:
    """Whether a region has this code."""
    return await session.get(Region, code) is not None


async def require_region(session: AsyncSession, code: str) -> None:
    """Nothing, or ``region_not_found`` (404)."""
    await get_or_404(session, Region, code, "region")


async def region_parents(
    executor: AsyncConnection | AsyncSession, codes: Iterable[str]
) -> list[tuple[str, str | None]]:
    """``(code, parent code)`` of each of these regions that exists."""
    stmt = select(Region.code, Region.parent_code).where(Region.code.in_(sorted(set(codes))))
    return [(code, parent) for code, parent in (await executor.execute(stmt)).all()]


def ancestry_cte(*, array: bool) -> CTE:
    """Recursive CTE ``(code, parent, depth)``: the regions bound as ``:codes`` (one array
    parameter when ``array``, else an expanding list) and their ancestors, ``depth`` counting
    the steps up from the region asked for."""
    codes: Any = (
        Region.code == any_(bindparam("codes", type_=ARRAY(String)))
        if array
        else Region.code.in_(bindparam("codes", expanding=True))
    )
    up = (
        select(
            Region.code.label("code"),
            Region.parent_code.label("parent"),
            literal(0).label("depth"),
        )
        .where(codes)
        .cte("up", recursive=True)
    )
    return up.union_all(
        select(Region.code, Region.parent_code, up.c.depth + 1)
        .join(up, Region.code == up.c.parent)
        .where(up.c.depth < MAX_REGION_DEPTH)
    )
