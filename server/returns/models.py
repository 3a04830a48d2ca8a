"""Returns (退货): requested by a dealer, decided by HQ, received by the warehouse, refunded.

    requested ──decide (every step approves)──> approved ──receive──> refunded
    requested ──decide (any step rejects)──> rejected

A return's lines name order lines; ``returned`` quantities count every return of the order
that is not rejected, and never exceed what the line shipped (checked under the order's row
lock, see ``server.returns.requests``). Money is fixed at receipt: ``refund`` per line is
what the dealer paid for those units, and the return records what each source got back and
the rebate clawed back.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, DealerOwned, IdMixin, TimestampMixin, utcnow


class ReturnStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    REFUNDED = "refunded"


class Disposition(enum.StrEnum):
    """Where received goods go: back to sellable stock, quarantine, or scrap."""

    SELLABLE = "sellable"
    QUARANTINE = "quarantine"
    SCRAP = "scrap"


class ReturnRequest(TimestampMixin, DealerOwned, Base):
    """A dealer's return of shipped goods; ``id`` is the client's (the business key)."""

    __tablename__ = "returns"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[ReturnStatus] = mapped_column(
        Enum(ReturnStatus, native_enum=False, length=16), index=True
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(500), default="")
    currency: Mapped[str] = mapped_column(String(3))
    step: Mapped[int] = mapped_column(Integer, default=1)
    """The approval step the return waits at (one step today; a chain adds more)."""
    disposition: Mapped[Disposition | None] = mapped_column(
        Enum(Disposition, native_enum=False, length=16)
    )
    refund: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_prepaid: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_credit: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_rebate: Mapped[int] = mapped_column(BigInteger, default=0)
    clawback: Mapped[int] = mapped_column(BigInteger, default=0)
    clawback_short: Mapped[int] = mapped_column(BigInteger, default=0)
    returned_value: Mapped[int] = mapped_column(BigInteger, default=0)
    """The value paid for the returned units (the refund before the clawback's shortfall)."""
    exchange: Mapped[bool] = mapped_column(default=False, server_default="0")
    """An exchange (换货): at receipt a replacement order is placed at the original's prices."""
    exchange_order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"))
    created_by: Mapped[uuid.UUID | None]
    version: Mapped[int] = mapped_column(Integer, default=0)

    lines: Mapped[list[ReturnLine]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ReturnLine.line"
    )
    photos: Mapped[list[ReturnPhoto]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ReturnPhoto.storage_key"
    )
    decisions: Mapped[list[ReturnDecision]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ReturnDecision.at"
    )


class ReturnLine(Base):
    __tablename__ = "return_lines"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("refund >= 0", name="refund_not_negative"),
    )

    return_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("returns.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(index=True)
    order_line: Mapped[int] = mapped_column(Integer)
    sku_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("skus.id"))
    sku_code: Mapped[str] = mapped_column(String(32))
    sku_name: Mapped[str] = mapped_column(String(128), default="")
    qty: Mapped[int] = mapped_column(BigInteger)
    refund: Mapped[int] = mapped_column(BigInteger, default=0)
    """What the dealer paid for these units (fixed when the goods are received)."""


class ReturnPhoto(IdMixin, Base):
    __tablename__ = "return_photos"

    return_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("returns.id", ondelete="CASCADE"), index=True
    )
    storage_key: Mapped[str] = mapped_column(String(512), unique=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class ReturnDecision(IdMixin, Base):
    """One approval step's decision (who, when, outcome, comment)."""

    __tablename__ = "return_decisions"

    return_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("returns.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    comment: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ReturnSettings(TimestampMixin, Base):
    """HQ's return rules (one row, id 1): a return is requested within ``window_days`` of
    the order's last shipment."""

    __tablename__ = "return_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_days: Mapped[int] = mapped_column(Integer)
