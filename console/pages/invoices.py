"""Invoice desk: the requests waiting to be issued, one request, issue with PDF or reject."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.params import QueryCode, QueryText
from console.render import page
from console.session import requires_console
from server.db.base import utcnow
from server.dealers.service import dealer_labels
from server.errors import Invalid
from server.identity.principal import Principal
from server.invoices import InvoiceStatus, service
from server.invoices.presenter import invoice_out
from server.invoices.routes import invoice_page
from server.invoices.schemas import IssueIn, RejectIn
from server.text import one_line

NUMBER = re.compile(r"[0-9]{8,20}")
PDF_FORM_BYTES = service.PDF_MAX_BYTES + 64 * 1024  # the PDF and the form's other fields


class IssueForm(msgspec.Struct, kw_only=True):
    number: Annotated[str, one_line(20)] = ""
    file: UploadFile | None = None


class RejectForm(msgspec.Struct, kw_only=True):
    reason: Annotated[str, one_line(500)] = ""


@get("/invoices", guards=[requires_console])
async def invoices_queue(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    status: QueryCode = "requested",
    cursor: QueryText = "",
) -> Template:
    """Invoice requests in a status (default: waiting to be issued), oldest id first."""
    chosen = status if status in {s.value for s in InvoiceStatus} else None
    items, next_cursor = await invoice_page(
        db_session,
        status=InvoiceStatus(chosen) if chosen else None,
        kind=None,
        dealer_id=None,
        cursor=cursor or None,
        limit=50,
    )
    return page(
        request,
        "invoices.html",
        invoices=items,
        dealers=await dealer_labels(db_session, (i.dealer_id for i in items)),
        statuses=[s.value for s in InvoiceStatus],
        status=chosen or "",
        next_cursor=next_cursor,
    )


@get("/invoices/{invoice_id:uuid}", guards=[requires_console])
async def invoice_detail(
    request: Request[Any, Any, Any],
    state: State,
    db_session: NamedDependency[AsyncSession],
    invoice_id: FromPath[uuid.UUID],
    decided: QueryCode = "",
) -> Template:
    """One request: who it is made out to, what it covers, and the decision forms."""
    invoice = invoice_out(await service.get_invoice(db_session, invoice_id), state.storage)
    labels = await dealer_labels(db_session, [invoice.dealer_id])
    return page(
        request,
        "invoice.html",
        invoice=invoice,
        dealer=labels.get(invoice.dealer_id, ("", "")),
        open=invoice.status is InvoiceStatus.REQUESTED,
        decided=bool(decided),
    )


@post(
    "/invoices/{invoice_id:uuid}/issue",
    guards=[requires_console],
    request_max_body_size=PDF_FORM_BYTES,
)
async def issue(
    state: State,
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    invoice_id: FromPath[uuid.UUID],
    data: Annotated[IssueForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Redirect:
    """Store the PDF and issue the request with its e-invoice number."""
    if data.file is None or not data.file.filename:
        raise Invalid("invoice_pdf_missing", "请选择发票 PDF", "Choose the invoice PDF")
    number = data.number.strip()
    if not NUMBER.fullmatch(number):
        raise Invalid(
            "invoice_number_invalid",
            "发票号码应为 8 到 20 位数字",
            "The invoice number is 8 to 20 digits",
        )
    await service.store_pdf(
        db_session, state.storage, invoice_id, await data.file.read(service.PDF_MAX_BYTES + 1)
    )
    await service.issue_invoice(
        db_session, state.storage, principal, invoice_id, IssueIn(number=number), utcnow()
    )
    return Redirect(f"/console/invoices/{invoice_id}?decided=1", status_code=303)


@post("/invoices/{invoice_id:uuid}/reject", guards=[requires_console])
async def reject(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    invoice_id: FromPath[uuid.UUID],
    data: Annotated[RejectForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    """Refuse the request with the reason the dealer will read."""
    reason = data.reason.strip()
    if not reason:
        raise Invalid("reason_required", "请填写驳回原因", "Give the reason for rejecting")
    await service.reject_invoice(
        db_session, principal, invoice_id, RejectIn(reason=reason), utcnow()
    )
    return Redirect(f"/console/invoices/{invoice_id}?decided=1", status_code=303)


HANDLERS = (invoices_queue, invoice_detail, issue, reject)
