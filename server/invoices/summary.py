"""How much of a dealer's shipped goods is invoiced, requested, or not yet asked for.

Shipped is every shipment before the cut-off at its net amount (price paid less rebate);
uninvoiced is the part of it on no live request (requested or issued) now; requested is the
amount of blue requests not yet issued; invoiced is blue less red issued before the cut-off.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.schemas import StatementInvoicing
from server.invoices.models import Invoice, InvoiceKind, InvoiceShipment, InvoiceStatus
from server.orders import dealer_shipments


async def _issued(
    session: AsyncSession, dealer_id: uuid.UUID, kind: InvoiceKind, until: datetime | None
) -> int:
    stmt = select(func.coalesce(func.sum(Invoice.amount), 0)).where(
        Invoice.dealer_id == dealer_id, Invoice.kind == kind, Invoice.status == InvoiceStatus.ISSUED
    )
    if until is not None:
        stmt = stmt.where(Invoice.decided_at < until)
    return int(await session.scalar(stmt) or 0)


async def invoicing_totals(
    session: AsyncSession, dealer_id: uuid.UUID, until: datetime | None = None
) -> StatementInvoicing:
    """The dealer's invoicing for shipments before ``until`` (None: all of them)."""
    shipments = await dealer_shipments(session, dealer_id, until)
    held_stmt = (
        select(InvoiceShipment.shipment_id)
        .join(Invoice, Invoice.id == InvoiceShipment.invoice_id)
        .where(Invoice.dealer_id == dealer_id)
    )
    held = set((await session.execute(held_stmt)).scalars().all())
    requested_stmt = select(func.coalesce(func.sum(Invoice.amount), 0)).where(
        Invoice.dealer_id == dealer_id,
        Invoice.kind == InvoiceKind.BLUE,
        Invoice.status == InvoiceStatus.REQUESTED,
    )
    blue = await _issued(session, dealer_id, InvoiceKind.BLUE, until)
    red = await _issued(session, dealer_id, InvoiceKind.RED, until)
    return StatementInvoicing(
        shipped=sum(s.net for s in shipments),
        requested=int(await session.scalar(requested_stmt) or 0),
        invoiced=blue - red,
        uninvoiced=sum(s.net for s in shipments if s.id not in held),
    )
