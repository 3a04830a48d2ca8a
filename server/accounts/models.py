"""Dealer fund accounts (资金账户) as an immutable double-entry ledger.

Each dealer has six accounts: its funds (``prepaid`` 预存款, ``credit`` 信用, ``rebate`` 返利),
``held`` (funds held for submitted orders) and two HQ-side counter-accounts, ``funding``
(money and rebate granted) and ``sales`` (captured order payments). Every journal entry's
postings sum to zero; an account's balance is the sum of its postings, cached on
``ledger_accounts.balance`` in the same transaction (the row is also the dealer's lock).
Credit's balance is minus what is owed: available credit is ``credit_limit + balance``.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, DealerOwned, IdMixin, TimestampMixin, utcnow


class AccountKind(enum.StrEnum):
    PREPAID = "prepaid"
    CREDIT = "credit"
    REBATE = "rebate"
    HELD = "held"
    FUNDING = "funding"
    SALES = "sales"


FUND_SOURCES = (AccountKind.PREPAID, AccountKind.CREDIT, AccountKind.REBATE)


class LedgerAccount(IdMixin, DealerOwned, Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("dealer_id", "kind"),
        CheckConstraint("credit_limit >= 0", name="credit_limit_not_negative"),
    )

    kind: Mapped[AccountKind] = mapped_column(Enum(AccountKind, native_enum=False, length=16))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    credit_limit: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EntryKind(enum.StrEnum):
    TOP_UP = "top_up"
    ADJUSTMENT = "adjustment"
    HOLD = "hold"
    CAPTURE = "capture"
    RELEASE = "release"
    REFUND = "refund"
    CLAWBACK = "clawback"


class JournalEntry(IdMixin, DealerOwned, Base):
    """One business event; its postings sum to zero. Rows are only ever inserted."""

    __tablename__ = "journal_entries"

    kind: Mapped[EntryKind] = mapped_column(Enum(EntryKind, native_enum=False, length=16))
    reference: Mapped[str] = mapped_column(String(64), default="", index=True)
    reason: Mapped[str] = mapped_column(String(256), default="")
    account_kind: Mapped[AccountKind | None] = mapped_column(
        Enum(AccountKind, native_enum=False, length=16)
    )
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    actor_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Posting(IdMixin, DealerOwned, Base):
    __tablename__ = "ledger_postings"

    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class HoldStatus(enum.StrEnum):
    """``held`` while open (possibly partly captured); closed as ``captured`` when anything
    was captured, else ``released``."""

    HELD = "held"
    CAPTURED = "captured"
    RELEASED = "released"


class FundsHold(IdMixin, TimestampMixin, DealerOwned, Base):
    """Funds held for one order (``reference``), by source; captured at shipment or released."""

    __tablename__ = "funds_holds"
    __table_args__ = (
        CheckConstraint(
            "prepaid >= 0 AND credit >= 0 AND rebate >= 0 AND prepaid + credit + rebate = amount",
            name="sources_sum_to_amount",
        ),
        CheckConstraint(
            "captured_prepaid BETWEEN 0 AND prepaid AND captured_credit BETWEEN 0 AND credit "
            "AND captured_rebate BETWEEN 0 AND rebate "
            "AND captured = captured_prepaid + captured_credit + captured_rebate "
            "AND released >= 0 AND captured + released <= amount",
            name="settled_within_amount",
        ),
        CheckConstraint(
            "refunded_prepaid BETWEEN 0 AND captured_prepaid "
            "AND refunded_credit BETWEEN 0 AND captured_credit "
            "AND refunded_rebate BETWEEN 0 AND captured_rebate",
            name="refunds_within_captured",
        ),
    )

    reference: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    prepaid: Mapped[int] = mapped_column(BigInteger, default=0)
    credit: Mapped[int] = mapped_column(BigInteger, default=0)
    rebate: Mapped[int] = mapped_column(BigInteger, default=0)
    sources: Mapped[str] = mapped_column(String(64))
    rebate_cap_bp: Mapped[int] = mapped_column(Integer, default=0)
    captured: Mapped[int] = mapped_column(BigInteger, default=0)
    captured_prepaid: Mapped[int] = mapped_column(BigInteger, default=0)
    captured_credit: Mapped[int] = mapped_column(BigInteger, default=0)
    captured_rebate: Mapped[int] = mapped_column(BigInteger, default=0)
    released: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_prepaid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    refunded_credit: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    refunded_rebate: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """What returns gave back of each source's capture (never more than it captured)."""
    status: Mapped[HoldStatus] = mapped_column(
        Enum(HoldStatus, native_enum=False, length=16), default=HoldStatus.HELD
    )
