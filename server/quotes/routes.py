"""HQ side of quotes: approvals with comments, thresholds per tier, PDF."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.repository import get_or_404
from server.identity.guards import requires_hq, requires_hq_admin
from server.identity.principal import Principal
from server.quotes import service
from server.quotes.models import Quote, QuoteStatus
from server.quotes.pdf import quote_pdf
from server.quotes.schemas import DecisionIn, QuoteOut, ThresholdIn, ThresholdOut
from server.schemas import Page, path_text
from server.text import LINE_RULE

Limit = Annotated[int, QueryParameter(ge=1, le=200)]


class QuoteApprovalController(Controller):
    path = "/hq/quotes"
    tags = ("hq: quotes",)
    guards = (requires_hq,)

    @get("/", summary="List quotes")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        limit: Limit = 50,
        status: FromQuery[QuoteStatus | None] = None,
        cursor: Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)] = None,
    ) -> Page[QuoteOut]:
        """Every dealer's quotes, e.g. ``status=pending_approval`` for the approval queue."""
        rows, next_cursor = await service.list_quotes(db_session, status, cursor, limit)
        now = utcnow()
        return Page(items=[service.quote_out(q, now) for q in rows], next_cursor=next_cursor)

    @get("/{quote_id:uuid}", summary="Get a quote")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], quote_id: FromPath[uuid.UUID]
    ) -> QuoteOut:
        """One quote with its pinned price snapshot and decision trail."""
        quote = await get_or_404(db_session, Quote, quote_id, "quote")
        return service.quote_out(quote, utcnow(), with_snapshot=True)

    @post("/{quote_id:uuid}/approve", summary="Approve a pending quote", status_code=200)
    async def approve(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        quote_id: FromPath[uuid.UUID],
        data: JSONBody[DecisionIn],
    ) -> QuoteOut:
        """Approve with an optional comment (audited)."""
        quote = await service.decide(
            db_session, principal, quote_id, utcnow(), approve=True, comment=data.comment
        )
        return service.quote_out(quote, utcnow())

    @post("/{quote_id:uuid}/reject", summary="Reject a pending quote", status_code=200)
    async def reject(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        quote_id: FromPath[uuid.UUID],
        data: JSONBody[DecisionIn],
    ) -> QuoteOut:
        """Reject with a comment (required; audited)."""
        quote = await service.decide(
            db_session, principal, quote_id, utcnow(), approve=False, comment=data.comment
        )
        return service.quote_out(quote, utcnow())

    @get("/{quote_id:uuid}/pdf", summary="A quote as PDF", media_type="application/pdf")
    async def pdf(
        self, state: State, db_session: NamedDependency[AsyncSession], quote_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        """The quote rendered as a Chinese PDF."""
        body = await quote_pdf(db_session, quote_id, utcnow(), state.settings.timezone)
        return Response(body, media_type="application/pdf")


class QuoteThresholdController(Controller):
    path = "/hq/quote-thresholds"
    tags = ("hq: quotes",)
    guards = (requires_hq,)

    @get("/", summary="Approval thresholds per tier")
    async def list_(self, db_session: NamedDependency[AsyncSession]) -> list[ThresholdOut]:
        """Per tier, the extra discount (basis points) per line and per quote needing approval."""
        return await service.list_thresholds(db_session)

    @put("/{tier:str}", summary="Set a tier's approval thresholds", guards=[requires_hq_admin])
    async def set_(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        tier: Annotated[str, path_text(16)],
        data: JSONBody[ThresholdIn],
    ) -> ThresholdOut:
        """Set the line and quote thresholds of one tier (audited)."""
        return await service.set_threshold(db_session, principal, tier, data)
