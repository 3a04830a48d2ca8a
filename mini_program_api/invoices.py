"""A dealer's invoices: titles (开票信息), requests for shipped goods, their state and PDFs."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, Response, delete, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.identity.guards import requires_dealer
from server.identity.principal import Principal
from server.invoices import InvoiceKind, InvoiceStatus, service, titles
from server.invoices.presenter import invoice_out
from server.invoices.routes import Cursor, Limit, invoice_page, summary_out
from server.invoices.schemas import (
    InvoiceOut,
    InvoiceRequestIn,
    InvoiceSummaryOut,
    TitleIn,
    TitleOut,
)
from server.schemas import Page


def _dealer(principal: Principal) -> uuid.UUID:
    assert principal.dealer_id is not None  # requires_dealer guarantees it
    return principal.dealer_id


class InvoiceTitleController(Controller):
    path = "/mp/invoice-titles"
    tags = ("mini-program: invoices",)
    guards = (requires_dealer,)

    @get("/", summary="My invoice titles")
    async def list_(self, db_session: NamedDependency[AsyncSession]) -> list[TitleOut]:
        """The titles invoices can be made out to, the default first."""
        return [titles.title_out(t) for t in await titles.list_titles(db_session)]

    @post("/", summary="Add an invoice title", opt={"problems": (422,)})
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[TitleIn],
    ) -> TitleOut:
        """Company, tax id (checked), and for a special VAT invoice address, phone and bank."""
        return titles.title_out(await titles.create_title(db_session, _dealer(principal), data))

    @put("/{title_id:uuid}", summary="Replace an invoice title", opt={"problems": (422,)})
    async def replace(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        title_id: FromPath[uuid.UUID],
        data: JSONBody[TitleIn],
    ) -> TitleOut:
        """Replace a title (requests already made keep the copy they were made with)."""
        title = await titles.replace_title(db_session, _dealer(principal), title_id, data)
        return titles.title_out(title)

    @delete("/{title_id:uuid}", summary="Delete an invoice title")
    async def remove(
        self, db_session: NamedDependency[AsyncSession], title_id: FromPath[uuid.UUID]
    ) -> None:
        """Forget a title."""
        await titles.delete_title(db_session, title_id)


class InvoiceController(Controller):
    path = "/mp/invoices"
    tags = ("mini-program: invoices",)
    guards = (requires_dealer,)

    @post(
        "/",
        summary="Request an invoice",
        status_code=201,
        responses={200: ResponseSpec(InvoiceOut, description="A retry: the stored request")},
        opt={"problems": (404, 409, 422)},
    )
    async def request(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[InvoiceRequestIn],
    ) -> Response[InvoiceOut]:
        """Invoice whole orders (fully shipped) and named shipments at the price paid less
        rebate; 201 when new, 200 when this id was already requested with the same content."""
        invoice, created = await service.request_invoice(db_session, principal, data, utcnow())
        return Response(invoice_out(invoice), status_code=201 if created else 200)

    @get("/", summary="My invoice requests", opt={"problems": (400,)})
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[InvoiceStatus | None] = None,
        kind: FromQuery[InvoiceKind | None] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[InvoiceOut]:
        """My requests, blue and red, in a status."""
        items, next_cursor = await invoice_page(
            db_session, status=status, kind=kind, dealer_id=None, cursor=cursor, limit=limit
        )
        return Page(items=items, next_cursor=next_cursor)

    @get("/summary", summary="My invoicing")
    async def summary(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        as_of: Annotated[date | None, QueryParameter(name="asOf")] = None,
    ) -> InvoiceSummaryOut:
        """Shipped (price paid less rebate), requested, invoiced (blue less red), uninvoiced."""
        return await summary_out(db_session, state.settings, _dealer(principal), as_of)

    @get("/{invoice_id:uuid}", summary="One of my invoice requests")
    async def detail(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        invoice_id: FromPath[uuid.UUID],
    ) -> InvoiceOut:
        """The request, its amounts explained, and once issued its number and a PDF link."""
        return invoice_out(await service.get_invoice(db_session, invoice_id), state.storage)

    @post(
        "/{invoice_id:uuid}/cancel",
        summary="Withdraw an invoice request",
        status_code=200,
        opt={"problems": (409,)},
    )
    async def cancel(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        invoice_id: FromPath[uuid.UUID],
    ) -> InvoiceOut:
        """Withdraw a request HQ has not decided; its shipments can be invoiced again."""
        invoice = await service.cancel_invoice(db_session, principal, invoice_id, utcnow())
        return invoice_out(invoice)
