"""HQ administration of dealers and tiers."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import get_or_404
from server.dealers import service
from server.dealers.models import Dealer, DealerStatus
from server.dealers.schemas import (
    DealerCreate,
    DealerOut,
    DealerUpdate,
    TierCreate,
    TierOut,
    TierUpdate,
)
from server.identity.guards import requires_hq, requires_hq_admin
from server.identity.principal import Principal
from server.schemas import Page, path_text
from server.text import LINE_RULE

Limit = Annotated[int, QueryParameter(ge=1, le=500)]


class TierController(Controller):
    path = "/hq/tiers"
    tags = ["hq: dealers"]
    guards = [requires_hq]

    @get("/", summary="List dealer tiers")
    async def list_(self, db_session: NamedDependency[AsyncSession]) -> list[TierOut]:
        """All tiers (core / growth / watch and any HQ added), by rank."""
        return [service.tier_out(t) for t in await service.list_tiers(db_session)]

    @post("/", summary="Create a dealer tier", guards=[requires_hq_admin])
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[TierCreate],
    ) -> TierOut:
        """Add a tier."""
        return service.tier_out(await service.create_tier(db_session, principal, data))

    @put("/{code:str}", summary="Update a dealer tier", guards=[requires_hq_admin])
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        code: Annotated[str, path_text(16)],
        data: JSONBody[TierUpdate],
    ) -> TierOut:
        """Change a tier's names and terms."""
        return service.tier_out(await service.update_tier(db_session, principal, code, data))


class DealerController(Controller):
    path = "/hq/dealers"
    tags = ["hq: dealers"]
    guards = [requires_hq]

    @post("/", summary="Create a dealer", opt={"problems": (404,)})
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[DealerCreate],
    ) -> DealerOut:
        """Create a dealer with its tier, authorized regions and optional parent dealer."""
        return service.dealer_out(await service.create_dealer(db_session, principal, data))

    @get("/", summary="List dealers")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        limit: Limit = 100,
        tier: Annotated[str | None, Parameter(max_length=16, pattern=LINE_RULE)] = None,
        status: FromQuery[DealerStatus | None] = None,
        region: Annotated[str | None, Parameter(max_length=12, pattern=LINE_RULE)] = None,
        q: Annotated[str | None, Parameter(max_length=64, pattern=LINE_RULE)] = None,
        cursor: Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)] = None,
    ) -> Page[DealerOut]:
        """Dealers ordered by code, filtered by tier, status, region or a name fragment."""
        rows, next_cursor = await service.list_dealers(
            db_session, tier=tier, status=status, region=region, q=q, cursor=cursor, limit=limit
        )
        return Page(items=[service.dealer_out(d) for d in rows], next_cursor=next_cursor)

    @get("/{dealer_id:uuid}", summary="Get a dealer")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], dealer_id: FromPath[uuid.UUID]
    ) -> DealerOut:
        """One dealer."""
        return service.dealer_out(await get_or_404(db_session, Dealer, dealer_id, "dealer"))

    @put("/{dealer_id:uuid}", summary="Update a dealer")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        dealer_id: FromPath[uuid.UUID],
        data: JSONBody[DealerUpdate],
    ) -> DealerOut:
        """Change the given fields; ``regionCodes`` replaces the authorized regions."""
        return service.dealer_out(
            await service.update_dealer(db_session, principal, dealer_id, data)
        )

    @delete("/{dealer_id:uuid}", summary="Close a dealer", status_code=200)
    async def remove(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        dealer_id: FromPath[uuid.UUID],
    ) -> DealerOut:
        """Close the dealer: its records stay, its users can no longer log in."""
        return service.dealer_out(await service.close_dealer(db_session, principal, dealer_id))
