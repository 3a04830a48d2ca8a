"""Promotions (促销政策), their budgets and every budget consumption.

A promotion's ``mechanic`` is a JSON document tagged by ``kind`` (see ``schemas``); the
eligibility columns are JSON lists, empty meaning "everyone". The window is stored as UTC
instants computed from the brand-time-zone dates HQ entered (``starts_on``/``ends_on``,
inclusive days).

Budgets: one row per promotion (``dealer_key = ""``) and, when a per-dealer cap is set, one
row per dealer (created on first use). ``used_*`` move only through conditional UPDATEs
(``... WHERE used + x <= limit``), so concurrent consumers can never overrun a limit; each
consumption is a row with a unique idempotency key, so a retried consumer consumes once
and a release gives back exactly what was taken.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, TimestampMixin, utcnow


class PromotionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Promotion(IdMixin, TimestampMixin, Base):
    __tablename__ = "promotions"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(24), index=True)
    mechanic: Mapped[dict[str, Any]] = mapped_column(JSON)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[PromotionStatus] = mapped_column(
        Enum(PromotionStatus, native_enum=False, length=16),
        default=PromotionStatus.DRAFT,
        index=True,
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    exclusive_group: Mapped[str | None] = mapped_column(String(32))
    stackable: Mapped[bool] = mapped_column(default=True)
    tiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    dealer_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    segments: Mapped[list[str]] = mapped_column(JSON, default=list)
    skus: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    budget_amount: Mapped[int | None] = mapped_column(BigInteger)
    budget_count: Mapped[int | None] = mapped_column(Integer)
    dealer_budget_amount: Mapped[int | None] = mapped_column(BigInteger)
    dealer_budget_count: Mapped[int | None] = mapped_column(Integer)
    pilot_share_bp: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None]


class PromotionBudget(IdMixin, Base):
    __tablename__ = "promotion_budgets"
    __table_args__ = (UniqueConstraint("promotion_id", "dealer_key"),)

    promotion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("promotions.id"), index=True)
    dealer_key: Mapped[str] = mapped_column(String(36), default="")
    limit_amount: Mapped[int | None] = mapped_column(BigInteger)
    limit_count: Mapped[int | None] = mapped_column(Integer)
    used_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ConsumptionStatus(enum.StrEnum):
    CONSUMED = "consumed"
    RELEASED = "released"


class BudgetConsumption(IdMixin, Base):
    __tablename__ = "budget_consumptions"

    key: Mapped[str] = mapped_column(String(128), unique=True)
    promotion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("promotions.id"), index=True)
    dealer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dealers.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    status: Mapped[ConsumptionStatus] = mapped_column(
        Enum(ConsumptionStatus, native_enum=False, length=16), default=ConsumptionStatus.CONSUMED
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]
