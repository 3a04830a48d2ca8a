"""A dealer reads the approval-trail entries of its own documents (orders, quotes, claims,
invoices, its credit limit, announcements sent to it): the proof behind each decision, chain
links included."""

from __future__ import annotations

import enum
import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.announcements import dealer_announcement
from server.claims import service as claims
from server.db.base import utcnow
from server.errors import NotFound
from server.identity.guards import requires_dealer
from server.identity.principal import Principal
from server.invoices import service as invoices
from server.orders import service as orders
from server.quotes import get_quote
from server.schemas import Page
from server.text import LINE_RULE
from server.trail import DecisionSearch, search_decisions
from server.trail.routes import decision_out
from server.trail.schemas import DecisionOut


class DealerDocument(enum.StrEnum):
    """The kinds of document a dealer owns (or, for announcements, receives)."""

    ORDER = "order"
    QUOTE = "quote"
    CLAIM = "claim"
    CREDIT_LIMIT = "credit_limit"
    INVOICE = "invoice"
    ANNOUNCEMENT = "announcement"


async def _check_own(
    session: AsyncSession, principal: Principal, kind: DealerDocument, document_id: uuid.UUID
) -> None:
    """404 unless the document is the caller's dealer's (dealer scoping answers for most)."""
    match kind:
        case DealerDocument.ORDER:
            await orders.get_order(session, document_id)
        case DealerDocument.QUOTE:
            await get_quote(session, document_id)
        case DealerDocument.CLAIM:
            await claims.load_claim(session, principal, document_id)
        case DealerDocument.INVOICE:
            await invoices.get_invoice(session, document_id)
        case DealerDocument.CREDIT_LIMIT:
            if document_id != principal.dealer_id:
                raise NotFound("record_not_found")
        case DealerDocument.ANNOUNCEMENT:
            await dealer_announcement(session, principal, document_id, utcnow(), history=True)


class DealerDecisionController(Controller):
    path = "/mp/decisions"
    tags = ("mini-program: approval trail",)
    guards = (requires_dealer,)

    @get("/{document_type:str}/{document_id:uuid}", summary="Decisions on one of my documents")
    async def of_document(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        document_type: FromPath[DealerDocument],
        document_id: FromPath[uuid.UUID],
        cursor: Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> Page[DecisionOut]:
        """The trail entries of one of my documents, newest first (404 for another's)."""
        await _check_own(db_session, principal, document_type, document_id)
        search = DecisionSearch(document_type=str(document_type), document_id=str(document_id))
        rows, next_cursor = await search_decisions(db_session, search, cursor=cursor, limit=limit)
        return Page(items=[decision_out(e) for e in rows], next_cursor=next_cursor)
