"""Dealers (经销商) and their tiers (核心 / 成长 / 观察)."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, DealerOwned, IdMixin, TimestampMixin


class DealerTier(TimestampMixin, Base):
    """A tier and its terms: prepayment, credit days, and how far rebate may pay an order.

    ``rebate_cap_bp`` is the share (basis points) of an order's eligible goods amount that
    rebate may pay (0: rebate pays nothing); goods in ``rebate_excluded_categories`` (category
    codes, with their sub-categories) and, with ``rebate_excludes_promoted``, lines a
    promotion touched are not eligible.
    """

    __tablename__ = "dealer_tiers"
    __table_args__ = (
        CheckConstraint("rebate_cap_bp BETWEEN 0 AND 10000", name="rebate_cap_bp_range"),
    )

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(32))
    name_en: Mapped[str] = mapped_column(String(32))
    rank: Mapped[int] = mapped_column(Integer, default=0)
    requires_prepayment: Mapped[bool] = mapped_column(default=False)
    credit_days: Mapped[int] = mapped_column(Integer, default=0)
    rebate_cap_bp: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rebate_excluded_categories: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    rebate_excludes_promoted: Mapped[bool] = mapped_column(default=False, server_default="0")


class DealerStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class Dealer(IdMixin, TimestampMixin, Base):
    __tablename__ = "dealers"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    tier_code: Mapped[str] = mapped_column(ForeignKey("dealer_tiers.code"), index=True)
    status: Mapped[DealerStatus] = mapped_column(
        Enum(DealerStatus, native_enum=False, length=16), default=DealerStatus.ACTIVE
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dealers.id"), index=True)
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(String(256), default="")
    segments: Mapped[list[str]] = mapped_column(JSON, default=list)
    uses_rebate: Mapped[bool] = mapped_column(default=True, server_default="1")
    """Whether an order that does not say spends rebate (within its tier's cap)."""

    regions: Mapped[list[DealerRegion]] = relationship(
        back_populates="dealer",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="DealerRegion.region_code",
    )

    @property
    def region_codes(self) -> list[str]:
        return [r.region_code for r in self.regions]


class DealerRegion(Base):
    """A region a dealer is authorized to sell in (ship-to outside these is 窜货)."""

    __tablename__ = "dealer_regions"

    dealer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dealers.id", ondelete="CASCADE"), primary_key=True
    )
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)

    dealer: Mapped[Dealer] = relationship(back_populates="regions")


class DealerAddress(IdMixin, TimestampMixin, DealerOwned, Base):
    """A ship-to address (收货地址); its region decides whether an order is cross-region (窜货)."""

    __tablename__ = "dealer_addresses"

    label: Mapped[str] = mapped_column(String(32), default="")
    contact_name: Mapped[str] = mapped_column(String(64))
    contact_phone: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    detail: Mapped[str] = mapped_column(String(256))
    is_default: Mapped[bool] = mapped_column(default=False)
