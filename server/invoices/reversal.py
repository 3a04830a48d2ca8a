"""Red-letter invoices (红字发票): reversing what was invoiced for goods that came back.

The rule: what stays invoiced for an order never exceeds the goods it kept. When goods come
back, the caller (a return) says how much the order has been refunded in all; the goods kept
are its shipped net amount less that. If the issued invoices (blue less red) of the order
exceed the goods kept, the difference is reversed, against the order's issued invoices, the
latest first, each at most what it still carries for the order. A refund of goods not yet
invoiced therefore reverses nothing: those goods are simply never invoiced. Each reversal is a
red request HQ issues like any other (number and PDF); one per (invoice, source).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Invalid
from server.invoices.models import Invoice, InvoiceKind, InvoiceShipment, InvoiceStatus
from server.invoices.service import publish_invoice
from server.orders import invoice_bases


async def _issued_blues(session: AsyncSession, order_id: uuid.UUID) -> list[tuple[Invoice, int]]:
    """The order's issued blue invoices, latest first, with what each covers of it."""
    stmt = (
        select(Invoice, func.sum(InvoiceShipment.amount))
        .join(InvoiceShipment, InvoiceShipment.invoice_id == Invoice.id)
        .where(InvoiceShipment.order_id == order_id, Invoice.status == InvoiceStatus.ISSUED)
        .group_by(Invoice.id)
        .order_by(Invoice.decided_at.desc(), Invoice.id)
    )
    return [(inv, int(total)) for inv, total in (await session.execute(stmt)).all()]


async def _reds_against(
    session: AsyncSession, blue_ids: list[uuid.UUID], order_id: uuid.UUID
) -> dict[uuid.UUID, int]:
    """What live red requests already reverse of each blue invoice for this order."""
    stmt = select(Invoice.original_id, Invoice.amount, Invoice.covers).where(
        Invoice.original_id.in_(blue_ids),
        Invoice.status.in_((InvoiceStatus.REQUESTED, InvoiceStatus.ISSUED)),
    )
    out: dict[uuid.UUID, int] = {}
    for original_id, amount, covers in (await session.execute(stmt)).all():
        if original_id is not None and any(c.get("orderId") == str(order_id) for c in covers):
            out[original_id] = out.get(original_id, 0) + int(amount)
    return out


async def request_red_invoice(
    session: AsyncSession,
    order_id: uuid.UUID,
    refunded_total: int,
    reference: str,
    now: datetime,
) -> list[Invoice]:
    """Ask for the red invoices a refund makes due (see the module docstring); none if the
    order's invoices still fit the goods it kept. Repeating with the same reference is a no-op."""
    if not reference or len(reference) > 80 or refunded_total < 0:
        raise Invalid("red_invoice_invalid", "冲红参数无效", "Invalid red-letter request")
    bases = await invoice_bases(session, [order_id])
    if order_id not in bases:
        return []
    kept = sum(s.net for s in bases[order_id].shipments) - refunded_total
    blues = await _issued_blues(session, order_id)
    reversed_ = await _reds_against(session, [b.id for b, _ in blues], order_id)
    # what each blue still carries of this order: its cover less the reds of this order
    carries = {b.id: max(cover - reversed_.get(b.id, 0), 0) for b, cover in blues}
    due = sum(carries.values()) - max(kept, 0)
    made: list[Invoice] = []
    for blue, _ in blues:
        if due <= 0:
            break
        take = min(due, carries[blue.id])
        if take <= 0 or await _exists(session, blue.id, reference):
            continue
        red = Invoice(
            id=uuid.uuid4(),
            dealer_id=blue.dealer_id,
            kind=InvoiceKind.RED,
            status=InvoiceStatus.REQUESTED,
            title=dict(blue.title),
            currency=blue.currency,
            goods=take,
            rebate=0,
            amount=take,
            covers=[{"orderId": str(order_id), "amount": take}],
            original_id=blue.id,
            reference=reference,
            note="",
            requested_at=now,
        )
        session.add(red)
        made.append(red)
        due -= take
    await session.flush()
    for red in made:
        await publish_invoice(session, red)
    return made


async def _exists(session: AsyncSession, original_id: uuid.UUID, reference: str) -> bool:
    stmt = select(Invoice.id).where(
        Invoice.original_id == original_id, Invoice.reference == reference
    )
    return (await session.execute(stmt)).first() is not None
