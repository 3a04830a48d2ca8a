"""Price-list versions and their items. Every published version is kept (superseded, not
deleted); at most one draft and one published version per list code at a time."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, TimestampMixin
from server.pricing import Scope


class PriceListStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class PriceListVersion(IdMixin, TimestampMixin, Base):
    """One version of a price list; ``code`` is the list's stable id (the pipeline's rule id)."""

    __tablename__ = "price_lists"
    __table_args__ = (
        UniqueConstraint("code", "version"),
        Index("ix_price_lists_status_scope", "status", "scope"),
    )

    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    scope: Mapped[Scope] = mapped_column(Enum(Scope, native_enum=False, length=16))
    scope_key: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    effective_from: Mapped[datetime | None]
    effective_to: Mapped[datetime | None]
    status: Mapped[PriceListStatus] = mapped_column(
        Enum(PriceListStatus, native_enum=False, length=16), default=PriceListStatus.DRAFT
    )
    published_at: Mapped[datetime | None]
    published_by: Mapped[uuid.UUID | None]
    created_by: Mapped[uuid.UUID | None]


class PriceListEntry(Base):
    """One SKU on one price-list version: unit price in fen and optional volume breaks."""

    __tablename__ = "price_list_items"

    price_list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("price_lists.id", ondelete="CASCADE"), primary_key=True
    )
    sku_code: Mapped[str] = mapped_column(ForeignKey("skus.code"), primary_key=True, index=True)
    unit_price: Mapped[int] = mapped_column(Integer)
    break_kind: Mapped[str] = mapped_column(String(8), default="range")
    # [{"minQty": 10, "unitPrice": 950, "maxQty": 49}, ...] in ascending order.
    breaks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
