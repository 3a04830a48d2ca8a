"""Invoice titles (开票信息), invoice requests (blue) and red-letter requests (红字发票).

A shipment is on at most one live blue invoice: ``invoice_shipments`` has the shipment as its
key, and a rejected or cancelled request deletes its rows (the request keeps its own copy of
what it covered), so the shipment can be invoiced again. A red request names the blue invoice
it reverses and the source that caused it (``reference``, e.g. a return): one per pair.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, DealerOwned, IdMixin, TimestampMixin, utcnow


class TitleKind(enum.StrEnum):
    GENERAL = "general"  # 增值税普通发票
    SPECIAL = "special"  # 增值税专用发票


class InvoiceKind(enum.StrEnum):
    BLUE = "blue"
    RED = "red"


class InvoiceStatus(enum.StrEnum):
    REQUESTED = "requested"
    ISSUED = "issued"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class InvoiceTitle(IdMixin, TimestampMixin, DealerOwned, Base):
    """A dealer's invoice title: who the invoice is made out to."""

    __tablename__ = "invoice_titles"

    kind: Mapped[TitleKind] = mapped_column(Enum(TitleKind, native_enum=False, length=16))
    company_name: Mapped[str] = mapped_column(String(100))
    tax_id: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(128), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    bank_name: Mapped[str] = mapped_column(String(64), default="")
    bank_account: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(128), default="")
    is_default: Mapped[bool] = mapped_column(default=False)


class Invoice(IdMixin, TimestampMixin, DealerOwned, Base):
    """One invoice request and, once HQ issued it, the e-invoice's number and PDF."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("original_id", "reference"),)

    kind: Mapped[InvoiceKind] = mapped_column(Enum(InvoiceKind, native_enum=False, length=8))
    status: Mapped[InvoiceStatus] = mapped_column(
        Enum(InvoiceStatus, native_enum=False, length=16), index=True
    )
    title: Mapped[dict[str, Any]] = mapped_column(JSON)
    currency: Mapped[str] = mapped_column(String(3))
    goods: Mapped[int] = mapped_column(BigInteger)
    rebate: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int] = mapped_column(BigInteger)
    covers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    original_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    reference: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(500), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    pdf_key: Mapped[str | None] = mapped_column(String(255))
    requested_by: Mapped[uuid.UUID | None]
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[uuid.UUID | None]
    decided_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)


class InvoiceShipment(Base):
    """A shipment on a live blue invoice (at most one: the shipment is the key)."""

    __tablename__ = "invoice_shipments"

    shipment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("order_shipments.id"), primary_key=True
    )
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[uuid.UUID] = mapped_column(index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
