"""A dealer's quotes: create from a cart, list, view, request approval, accept, PDF."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.identity.guards import requires_dealer
from server.identity.principal import Principal
from server.quotes import QuoteStatus, get_quote, quote_pdf, service
from server.quotes.schemas import DecisionIn, QuoteCreate, QuoteOut
from server.schemas import Page
from server.text import LINE_RULE


class QuoteController(Controller):
    path = "/mp/quotes"
    tags = ("mini-program: quotes",)
    guards = (requires_dealer,)

    @post("/", summary="Create a quote from my cart")
    async def create(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[QuoteCreate],
    ) -> QuoteOut:
        """Price the cart, pin the snapshot and validity; a client ``id`` makes retries safe."""
        now = utcnow()
        quote = await service.create_quote(
            db_session,
            state.pricing_cache,
            principal,
            currency=state.settings.currency,
            now=now,
            body=data,
            default_valid_days=state.settings.quote_valid_days,
        )
        return service.quote_out(quote, now, with_snapshot=True)

    @get("/", summary="My quotes")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        status: FromQuery[QuoteStatus | None] = None,
        cursor: Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)] = None,
    ) -> Page[QuoteOut]:
        """My quotes, optionally by status."""
        rows, next_cursor = await service.list_quotes(db_session, status, cursor, limit)
        now = utcnow()
        return Page(items=[service.quote_out(q, now) for q in rows], next_cursor=next_cursor)

    @get("/{quote_id:uuid}", summary="One of my quotes")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], quote_id: FromPath[uuid.UUID]
    ) -> QuoteOut:
        """The quote, its pinned price snapshot and its decision trail."""
        quote = await get_quote(db_session, quote_id)
        return service.quote_out(quote, utcnow(), with_snapshot=True)

    @post(
        "/{quote_id:uuid}/request-approval", summary="Ask HQ to approve my quote", status_code=200
    )
    async def request_approval(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        quote_id: FromPath[uuid.UUID],
        data: JSONBody[DecisionIn],
    ) -> QuoteOut:
        """Submit a quote above my tier's thresholds to HQ, with a comment."""
        quote = await service.request_approval(
            db_session, principal, quote_id, utcnow(), data.comment
        )
        return service.quote_out(quote, utcnow())

    @post("/{quote_id:uuid}/accept", summary="Accept my quote", status_code=200)
    async def accept(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        quote_id: FromPath[uuid.UUID],
    ) -> QuoteOut:
        """Accept an approved quote (or one within the thresholds) before it expires."""
        quote = await service.accept(db_session, principal, quote_id, utcnow())
        return service.quote_out(quote, utcnow())

    @get("/{quote_id:uuid}/pdf", summary="My quote as PDF", media_type="application/pdf")
    async def pdf(
        self, state: State, db_session: NamedDependency[AsyncSession], quote_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        """The quote rendered as a Chinese PDF to forward."""
        body = await quote_pdf(db_session, quote_id, utcnow(), state.settings.timezone)
        return Response(body, media_type="application/pdf")
