"""HQ's invoice desk: the queue of requests, the PDF upload form, issue and reject."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.repository import keyset_page
from server.identity.guards import requires_hq
from server.identity.principal import Principal
from server.invoices import service
from server.invoices.models import Invoice, InvoiceKind, InvoiceStatus
from server.invoices.presenter import invoice_out
from server.invoices.schemas import (
    InvoiceOut,
    InvoiceSummaryOut,
    IssueIn,
    PdfPresignOut,
    RejectIn,
)
from server.invoices.summary import invoicing_totals
from server.schemas import Page
from server.settings import Settings
from server.text import LINE_RULE

Cursor = Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)]
Limit = Annotated[int, QueryParameter(ge=1, le=200)]


async def invoice_page(
    session: AsyncSession,
    *,
    status: InvoiceStatus | None,
    kind: InvoiceKind | None,
    dealer_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[InvoiceOut], str | None]:
    """A page of invoices (dealer scoping applies), filtered."""
    stmt = select(Invoice)
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    if kind is not None:
        stmt = stmt.where(Invoice.kind == kind)
    if dealer_id is not None:
        stmt = stmt.where(Invoice.dealer_id == dealer_id)
    rows, next_cursor = await keyset_page(session, stmt, Invoice.id, cursor, limit)
    return [invoice_out(i) for i in rows], next_cursor


async def summary_out(
    session: AsyncSession, settings: Settings, dealer_id: uuid.UUID, as_of: date | None
) -> InvoiceSummaryOut:
    """A dealer's invoicing up to the end of ``as_of`` (brand time zone), or up to now."""
    until = None
    if as_of is not None and date(2000, 1, 1) <= as_of <= date(2099, 12, 31):
        until = datetime.combine(as_of + timedelta(days=1), time(), ZoneInfo(settings.timezone))
    totals = await invoicing_totals(session, dealer_id, until)
    return InvoiceSummaryOut(
        dealer_id=dealer_id,
        currency=settings.currency,
        as_of=as_of,
        shipped=totals.shipped,
        requested=totals.requested,
        invoiced=totals.invoiced,
        uninvoiced=totals.uninvoiced,
    )


class InvoiceDeskController(Controller):
    path = "/hq/invoices"
    tags = ("hq: invoices",)
    guards = (requires_hq,)

    @get("/", summary="Invoice requests", opt={"problems": (400,)})
    async def queue(
        self,
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[InvoiceStatus | None] = InvoiceStatus.REQUESTED,
        kind: FromQuery[InvoiceKind | None] = None,
        dealer_id: Annotated[uuid.UUID | None, QueryParameter(name="dealerId")] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[InvoiceOut]:
        """Requests in a status (default: waiting to be issued), blue or red, of one dealer."""
        items, next_cursor = await invoice_page(
            db_session, status=status, kind=kind, dealer_id=dealer_id, cursor=cursor, limit=limit
        )
        return Page(items=items, next_cursor=next_cursor)

    @get("/summary", summary="A dealer's invoicing")
    async def summary(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        dealer_id: Annotated[uuid.UUID, QueryParameter(name="dealerId")],
        as_of: Annotated[date | None, QueryParameter(name="asOf")] = None,
    ) -> InvoiceSummaryOut:
        """Shipped (price paid less rebate), requested, invoiced (blue less red), uninvoiced."""
        return await summary_out(db_session, state.settings, dealer_id, as_of)

    @get("/{invoice_id:uuid}", summary="An invoice request")
    async def detail(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        invoice_id: FromPath[uuid.UUID],
    ) -> InvoiceOut:
        """One request: title, shipments covered, amounts explained, number and PDF link."""
        return invoice_out(await service.get_invoice(db_session, invoice_id), state.storage)

    @post(
        "/{invoice_id:uuid}/pdf/presign",
        summary="Form to upload an invoice's PDF",
        status_code=200,
        opt={"problems": (409,)},
    )
    async def presign(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        invoice_id: FromPath[uuid.UUID],
    ) -> PdfPresignOut:
        """A presigned form to post the e-invoice PDF (at most 5 MB) before issuing."""
        _, form = await service.presign_pdf(db_session, state.storage, invoice_id)
        return PdfPresignOut(
            key=form.key,
            url=form.url,
            fields=form.fields,
            expires_at=form.expires_at,
            max_bytes=form.max_bytes,
        )

    @post(
        "/{invoice_id:uuid}/issue",
        summary="Issue an invoice",
        status_code=200,
        opt={"problems": (409,)},
    )
    async def issue(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        invoice_id: FromPath[uuid.UUID],
        data: JSONBody[IssueIn],
    ) -> InvoiceOut:
        """Mark the request issued with the e-invoice number (its PDF uploaded first)."""
        invoice = await service.issue_invoice(
            db_session, state.storage, principal, invoice_id, data, utcnow()
        )
        return invoice_out(invoice, state.storage)

    @post(
        "/{invoice_id:uuid}/reject",
        summary="Reject an invoice request",
        status_code=200,
        opt={"problems": (409,)},
    )
    async def reject(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        invoice_id: FromPath[uuid.UUID],
        data: JSONBody[RejectIn],
    ) -> InvoiceOut:
        """Refuse with a reason the dealer reads; the shipments can be invoiced again."""
        invoice = await service.reject_invoice(db_session, principal, invoice_id, data, utcnow())
        return invoice_out(invoice)
