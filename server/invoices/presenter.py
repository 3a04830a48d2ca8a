"""Invoices as the API and sync show them, with the amount explained in zh-CN and English."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from server.invoices.models import Invoice, InvoiceKind
from server.invoices.schemas import Explanation, InvoiceCover, InvoiceOut
from server.pricing.money import format_fen
from server.storage import ObjectStorage


def explanation(invoice: Invoice) -> Explanation:
    """Why the invoice is for its amount."""
    amount = format_fen(invoice.amount)
    if invoice.kind is InvoiceKind.RED:
        source = invoice.reference or ""
        return Explanation(
            zh=f"红字发票 ¥{amount}：{source} 退回了已开票的货物，冲减原发票对应金额",
            en=f"Red-letter invoice of ¥{amount}: {source} returned invoiced goods, so this "
            "reverses that part of the original invoice",
        )
    shipments = len(invoice.covers)
    if invoice.rebate:
        return Explanation(
            zh=f"{shipments} 个发货单货款 ¥{format_fen(invoice.goods)}（按实付单价），"
            f"返利抵扣 ¥{format_fen(invoice.rebate)} 作为折扣，开票金额 ¥{amount}",
            en=f"{shipments} shipment(s): goods ¥{format_fen(invoice.goods)} at the prices "
            f"paid, less ¥{format_fen(invoice.rebate)} of rebate as a discount: ¥{amount}",
        )
    return Explanation(
        zh=f"{shipments} 个发货单货款 ¥{amount}（按实付单价）",
        en=f"{shipments} shipment(s): goods ¥{amount} at the prices paid",
    )


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def invoice_out(invoice: Invoice, storage: ObjectStorage | None = None) -> InvoiceOut:
    """The request, with a download link to its PDF when issued and a storage is given."""
    pdf_url = None
    if storage is not None and invoice.pdf_key:
        pdf_url = storage.presign_download(invoice.pdf_key)
    return InvoiceOut(
        id=invoice.id,
        dealer_id=invoice.dealer_id,
        kind=invoice.kind,
        status=invoice.status,
        title=dict(invoice.title),
        currency=invoice.currency,
        goods=invoice.goods,
        rebate=invoice.rebate,
        amount=invoice.amount,
        covers=[
            InvoiceCover(
                shipment_id=_uuid(c["shipmentId"]) if c.get("shipmentId") else None,
                order_id=_uuid(c["orderId"]),
                goods=int(c.get("goods", c["amount"])),
                rebate=int(c.get("rebate", 0)),
                amount=int(c["amount"]),
            )
            for c in invoice.covers
        ],
        explanation=explanation(invoice),
        original_id=invoice.original_id,
        reference=invoice.reference if invoice.kind is InvoiceKind.RED else None,
        note=invoice.note,
        reason=invoice.reason,
        number=invoice.number,
        pdf_url=pdf_url,
        requested_at=invoice.requested_at,
        decided_at=invoice.decided_at,
        version=invoice.version,
    )


def invoice_payload(invoice: Invoice) -> dict[str, Any]:
    """The sync payload (no link: links expire; the client asks the API for one)."""
    return msgspec.to_builtins(invoice_out(invoice))
