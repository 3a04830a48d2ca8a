"""Invoice requests: a dealer asks, HQ issues (number and PDF) or rejects; returns reverse.

- A request covers shipments at their net amount (``server.orders.invoicing``): whole orders
  (each fully shipped: every shipment not yet on a live request) or named shipments. A
  shipment named twice, or already on a live request, is refused naming that request; a
  shipment is held by ``invoice_shipments`` (its key), so two racing requests cannot both
  take it. The client's id makes the request idempotent: the same id with the same content
  answers the stored request; with other content, 409.
- HQ issues a requested invoice with the e-invoice number (unique) once its PDF is in
  storage, or rejects it with a reason; cancelling (the dealer) or rejecting frees the
  shipments. Every decision joins the approval trail and is published to ``dealer:{id}``.
- A return of invoiced goods asks for a red-letter invoice (:func:`request_red_invoice`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.db.repository import flush_or_conflict, get_or_404
from server.errors import Conflict, Invalid
from server.identity.principal import Principal
from server.invoices.models import (
    Invoice,
    InvoiceKind,
    InvoiceShipment,
    InvoiceStatus,
    InvoiceTitle,
)
from server.invoices.presenter import invoice_payload
from server.invoices.schemas import InvoiceRequestIn, IssueIn, RejectIn
from server.invoices.titles import get_title
from server.orders import ShipmentBasis, invoice_bases, shipment_orders
from server.storage import ObjectStorage, sniff_content_type
from server.trail import note_decision
from sync import publish

PDF_MAX_BYTES = 5 * 1024 * 1024
LIVE = (InvoiceStatus.REQUESTED, InvoiceStatus.ISSUED)


def pdf_key(invoice: Invoice) -> str:
    return f"invoices/{invoice.dealer_id}/{invoice.id}.pdf"


def title_copy(t: InvoiceTitle) -> dict[str, Any]:
    """What the invoice is made out to, as it was when requested."""
    return {
        "kind": str(t.kind),
        "companyName": t.company_name,
        "taxId": t.tax_id,
        "address": t.address,
        "phone": t.phone,
        "bankName": t.bank_name,
        "bankAccount": t.bank_account,
        "email": t.email,
    }


def _request_hash(body: InvoiceRequestIn) -> str:
    content = (body.title_id, sorted(body.order_ids), sorted(body.shipment_ids), body.note)
    return hashlib.sha256(msgspec.json.encode(content)).hexdigest()


def _unknown(kind: str, ids: set[uuid.UUID]) -> Invalid:
    zh = "订单不存在" if kind == "order" else "发货单不存在"
    return Invalid(
        "invoice_source_unknown",
        f"{zh}或不属于本经销商",
        f"No such {kind} of this dealer",
        errors=[{"key": f"{kind}Ids", "message": zh, "message_en": f"unknown {kind}"}],
        ids=sorted(str(i) for i in ids),
    )


async def _held(session: AsyncSession, shipment_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """shipment -> the live request holding it."""
    stmt = select(InvoiceShipment.shipment_id, InvoiceShipment.invoice_id).where(
        InvoiceShipment.shipment_id.in_(shipment_ids)
    )
    return {s: i for s, i in (await session.execute(stmt)).all()}


async def _covered(session: AsyncSession, body: InvoiceRequestIn) -> list[ShipmentBasis]:
    """The shipments the request covers, checked (see the module docstring)."""
    if len(set(body.shipment_ids)) != len(body.shipment_ids):
        raise Invalid("shipment_repeated", "发货单重复", "A shipment is named twice")
    of_shipment = await shipment_orders(session, body.shipment_ids)
    if missing := set(body.shipment_ids) - of_shipment.keys():
        raise _unknown("shipment", missing)
    bases = await invoice_bases(session, [*set(body.order_ids) | set(of_shipment.values())])
    if missing := set(body.order_ids) - bases.keys():
        raise _unknown("order", missing)
    if partial := sorted(str(o) for o in set(body.order_ids) if not bases[o].complete):
        raise Invalid(
            "order_not_fully_shipped",
            "订单尚未全部发货，请按发货单开票",
            "The order has not fully shipped: invoice its shipments instead",
            order_ids=partial,
        )
    by_id = {s.id: s for b in bases.values() for s in b.shipments}
    wanted = {s.id for o in set(body.order_ids) for s in bases[o].shipments} | set(of_shipment)
    held = await _held(session, sorted(wanted))
    if taken := [s for s in body.shipment_ids if s in held]:
        raise Conflict(
            "already_invoiced",
            "该发货单已在其他开票申请中",
            "The shipment is already on another invoice request",
            shipment_id=str(taken[0]),
            invoice_id=str(held[taken[0]]),
        )
    covered = sorted((by_id[s] for s in wanted if s not in held), key=lambda s: s.shipped_at)
    if not covered:
        raise Invalid("nothing_to_invoice", "没有可开票的发货", "Nothing left to invoice")
    if len({bases[s.order_id].currency for s in covered}) > 1:
        raise Invalid("currency_mixed", "不同币种不能合并开票", "Currencies cannot be mixed")
    return covered


async def request_invoice(
    session: AsyncSession, actor: Principal, body: InvoiceRequestIn, now: datetime
) -> tuple[Invoice, bool]:
    """Ask for an invoice (idempotent by ``body.id``): the request and whether it is new."""
    assert actor.dealer_id is not None
    digest = _request_hash(body)
    existing = await _same_request(session, body.id, digest)
    if existing is not None:
        return existing, False
    title = await get_title(session, body.title_id)
    covered = await _covered(session, body)
    bases = await invoice_bases(session, sorted({s.order_id for s in covered}))
    invoice = Invoice(
        id=body.id,
        dealer_id=actor.dealer_id,
        kind=InvoiceKind.BLUE,
        status=InvoiceStatus.REQUESTED,
        title=title_copy(title),
        currency=bases[covered[0].order_id].currency,
        goods=sum(s.goods for s in covered),
        rebate=sum(s.rebate for s in covered),
        amount=sum(s.net for s in covered),
        covers=[_cover(s) for s in covered],
        reference=digest,
        note=body.note,
        requested_by=actor.user_id,
        requested_at=now,
    )
    session.add(invoice)
    for s in covered:
        session.add(
            InvoiceShipment(shipment_id=s.id, invoice_id=body.id, order_id=s.order_id, amount=s.net)
        )
    try:
        await flush_or_conflict(session, "already_invoiced")
    except Conflict:  # a request with this id committed meanwhile, or a shipment was taken
        again = await _same_request(session, body.id, digest)
        if again is None:
            raise
        return again, False
    await publish_invoice(session, invoice)
    return invoice, True


async def _same_request(
    session: AsyncSession, invoice_id: uuid.UUID, digest: str
) -> Invoice | None:
    """The stored request with this id (None: there is none); other content is 409."""
    existing = await session.get(Invoice, invoice_id, populate_existing=True)
    if existing is None:
        return None
    if existing.kind is not InvoiceKind.BLUE or existing.reference != digest:
        raise Conflict(
            "invoice_id_reused",
            "该开票申请编号已用于其他内容",
            "This invoice request id was used for other content",
        )
    return existing


def _cover(s: ShipmentBasis) -> dict[str, Any]:
    return {
        "shipmentId": str(s.id),
        "orderId": str(s.order_id),
        "goods": s.goods,
        "rebate": s.rebate,
        "amount": s.net,
    }


async def get_invoice(session: AsyncSession, invoice_id: uuid.UUID, lock: bool = False) -> Invoice:
    """One invoice (404 ``invoice_not_found``, also another dealer's)."""
    if lock:
        stmt = select(Invoice).where(Invoice.id == invoice_id).with_for_update()
        found = (await session.execute(stmt)).scalar_one_or_none()
        if found is not None:
            await session.refresh(found)
            return found
    return await get_or_404(session, Invoice, invoice_id, "invoice")


def _require_requested(invoice: Invoice) -> None:
    if invoice.status is not InvoiceStatus.REQUESTED:
        raise Conflict(
            "invoice_already_decided",
            "该开票申请已处理",
            "This invoice request has already been decided",
            status=str(invoice.status),
        )


async def _free_shipments(session: AsyncSession, invoice: Invoice) -> None:
    rows = await session.execute(
        select(InvoiceShipment).where(InvoiceShipment.invoice_id == invoice.id)
    )
    for row in rows.scalars().all():
        await session.delete(row)


async def cancel_invoice(
    session: AsyncSession, actor: Principal, invoice_id: uuid.UUID, now: datetime
) -> Invoice:
    """The dealer withdraws a request HQ has not decided (repeating is harmless)."""
    invoice = await get_invoice(session, invoice_id, lock=True)
    if invoice.status is InvoiceStatus.CANCELLED:
        return invoice
    _require_requested(invoice)
    invoice.status = InvoiceStatus.CANCELLED
    invoice.decided_by, invoice.decided_at = actor.user_id, now
    await _free_shipments(session, invoice)
    await _decided(session, actor, invoice, "cancelled", "")
    return invoice


async def presign_pdf(
    session: AsyncSession, storage: ObjectStorage, invoice_id: uuid.UUID
) -> tuple[Invoice, Any]:
    """A form to post the e-invoice's PDF to storage (before issuing)."""
    invoice = await get_invoice(session, invoice_id)
    _require_requested(invoice)
    return invoice, storage.presign_upload(pdf_key(invoice), "application/pdf", PDF_MAX_BYTES)


async def store_pdf(
    session: AsyncSession, storage: ObjectStorage, invoice_id: uuid.UUID, data: bytes
) -> Invoice:
    """Put the e-invoice PDF in storage directly (the console's upload), checked to be one."""
    invoice = await get_invoice(session, invoice_id)
    _require_requested(invoice)
    if len(data) > PDF_MAX_BYTES:
        raise Invalid(
            "invoice_pdf_too_large",
            "发票 PDF 不能超过 5 MB",
            "The invoice PDF must be at most 5 MB",
        )
    if sniff_content_type(data[:8]) != "application/pdf":
        raise Invalid("invoice_pdf_invalid", "上传的文件不是 PDF", "The uploaded file is not a PDF")
    await storage.put(pdf_key(invoice), data, "application/pdf")
    return invoice


async def issue_invoice(
    session: AsyncSession,
    storage: ObjectStorage,
    actor: Principal,
    invoice_id: uuid.UUID,
    body: IssueIn,
    now: datetime,
) -> Invoice:
    """Mark the request issued with its e-invoice number; its PDF must be in storage."""
    invoice = await get_invoice(session, invoice_id, lock=True)
    if invoice.status is InvoiceStatus.ISSUED and invoice.number == body.number:
        return invoice  # a retry of the same decision
    _require_requested(invoice)
    key = pdf_key(invoice)
    if not await storage.exists(key):
        raise Invalid("invoice_pdf_missing", "请先上传发票 PDF", "Upload the invoice PDF first")
    if sniff_content_type((await storage.get(key))[:8]) != "application/pdf":
        raise Invalid("invoice_pdf_invalid", "上传的文件不是 PDF", "The uploaded file is not a PDF")
    invoice.status, invoice.number, invoice.pdf_key = InvoiceStatus.ISSUED, body.number, key
    invoice.decided_by, invoice.decided_at = actor.user_id, now
    await flush_or_conflict(session, "invoice_number_taken")
    await _decided(session, actor, invoice, "issued", body.number)
    return invoice


async def reject_invoice(
    session: AsyncSession, actor: Principal, invoice_id: uuid.UUID, body: RejectIn, now: datetime
) -> Invoice:
    """Refuse the request with a reason the dealer reads; its shipments can be invoiced again."""
    invoice = await get_invoice(session, invoice_id, lock=True)
    if invoice.status is InvoiceStatus.REJECTED and invoice.reason == body.reason:
        return invoice
    _require_requested(invoice)
    invoice.status, invoice.reason = InvoiceStatus.REJECTED, body.reason
    invoice.decided_by, invoice.decided_at = actor.user_id, now
    await _free_shipments(session, invoice)
    await _decided(session, actor, invoice, "rejected", body.reason)
    return invoice


async def _decided(
    session: AsyncSession, actor: Principal, invoice: Invoice, outcome: str, comment: str
) -> None:
    invoice.version += 1
    await session.flush()
    state = {
        "id": str(invoice.id),
        "kind": str(invoice.kind),
        "amount": invoice.amount,
        "title": invoice.title,
        "covers": invoice.covers,
        "number": invoice.number,
        "originalId": str(invoice.original_id) if invoice.original_id else None,
    }
    note_decision(session, actor, "invoice", invoice.id, outcome, state, comment)
    record(session, actor, f"invoice.{outcome}", "invoice", invoice.id, {"comment": comment})
    await publish_invoice(session, invoice)


async def publish_invoice(session: AsyncSession, invoice: Invoice) -> None:
    """The request's state to its dealer's scope."""
    await publish(
        session,
        f"dealer:{invoice.dealer_id}",
        "invoice",
        str(invoice.id),
        "upsert",
        invoice_payload(invoice),
    )
