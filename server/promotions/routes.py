"""HQ administration of promotions: drafts, publish, archive, budgets, pilot reports."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from server.identity.guards import requires_hq
from server.identity.principal import Principal
from server.promotions import budgets, pilots, service
from server.promotions.models import PromotionStatus
from server.promotions.schemas import BudgetStatusOut, PilotReportOut, PromotionIn, PromotionOut


class PromotionController(Controller):
    path = "/hq/promotions"
    tags = ("hq: promotions",)
    guards = (requires_hq,)

    @get("/", summary="List promotions")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[PromotionStatus | None] = None,
    ) -> list[PromotionOut]:
        """Every promotion, optionally only drafts, published or archived ones."""
        rows = await service.list_promotions(db_session, status)
        return [service.promotion_out(p) for p in rows]

    @post("/", summary="Create a promotion (draft)")
    async def create(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[PromotionIn],
    ) -> PromotionOut:
        """A new draft: mechanic, eligibility, window (brand time zone), priority, budget."""
        p = await service.create_promotion(db_session, principal, data, state.settings.timezone)
        return service.promotion_out(p)

    @get("/{promotion_id:uuid}", summary="Get a promotion")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], promotion_id: FromPath[uuid.UUID]
    ) -> PromotionOut:
        """One promotion's definition and status."""
        return service.promotion_out(await service.get_promotion(db_session, promotion_id))

    @put("/{promotion_id:uuid}", summary="Replace a draft promotion", opt={"problems": (409,)})
    async def update(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        promotion_id: FromPath[uuid.UUID],
        data: JSONBody[PromotionIn],
    ) -> PromotionOut:
        """Replace a draft's definition (409 once published)."""
        p = await service.update_promotion(
            db_session, principal, promotion_id, data, state.settings.timezone
        )
        return service.promotion_out(p)

    @post("/{promotion_id:uuid}/publish", summary="Publish a promotion", status_code=200)
    async def publish(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        promotion_id: FromPath[uuid.UUID],
    ) -> PromotionOut:
        """Make a draft live and send it to its sync scopes (idempotent)."""
        p = await service.publish_promotion(db_session, principal, promotion_id)
        return service.promotion_out(p)

    @post("/{promotion_id:uuid}/archive", summary="Archive a promotion", status_code=200)
    async def archive(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        promotion_id: FromPath[uuid.UUID],
    ) -> PromotionOut:
        """Take a promotion off: no longer priced or claimable; nodes receive a delete."""
        p = await service.archive_promotion(db_session, principal, promotion_id)
        return service.promotion_out(p)

    @get("/{promotion_id:uuid}/budget", summary="Budget status of a promotion")
    async def budget(
        self, db_session: NamedDependency[AsyncSession], promotion_id: FromPath[uuid.UUID]
    ) -> list[BudgetStatusOut]:
        """Limits, use and what remains: the promotion's budget first, then per dealer."""
        p = await service.get_promotion(db_session, promotion_id)
        return await budgets.budget_status(db_session, p)

    @get("/{promotion_id:uuid}/pilot-report", summary="Pilot report: test vs control")
    async def pilot_report(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        promotion_id: FromPath[uuid.UUID],
    ) -> PilotReportOut:
        """Order frequency, SKU breadth and amount of the test and control groups."""
        p = await service.get_promotion(db_session, promotion_id)
        return await pilots.pilot_report(db_session, p, state.order_activity)
