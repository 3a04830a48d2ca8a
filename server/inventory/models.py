"""Stock per warehouse and SKU, the append-only movement ledger, reservations, feeds, policies.

``stock_levels`` is a cache of the ledger: for every (warehouse, SKU) ``on_hand`` and
``reserved`` equal the sums of ``stock_movements`` deltas (see ``ledger.rebuild_levels``).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, utcnow


class StockLevel(Base):
    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("on_hand >= reserved", name="on_hand_covers_reserved"),
    )

    warehouse_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warehouses.id"), primary_key=True)
    sku_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("skus.id"), primary_key=True, index=True)
    on_hand: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MovementKind(enum.StrEnum):
    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"
    RESERVATION = "reservation"
    RELEASE = "release"
    SHIPMENT = "shipment"
    RETURN = "return"
    QUARANTINE = "quarantine"
    SCRAP = "scrap"


class StockMovement(IdMixin, Base):
    """One change to one (warehouse, SKU); rows are only ever inserted."""

    __tablename__ = "stock_movements"

    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    warehouse_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warehouses.id"), index=True)
    sku_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("skus.id"), index=True)
    kind: Mapped[MovementKind] = mapped_column(Enum(MovementKind, native_enum=False, length=16))
    on_hand_delta: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_delta: Mapped[int] = mapped_column(BigInteger, default=0)
    reference: Mapped[str] = mapped_column(String(64), default="", index=True)
    reason: Mapped[str] = mapped_column(String(256), default="")
    actor_id: Mapped[uuid.UUID | None]


class ReservationStatus(enum.StrEnum):
    OPEN = "open"
    RELEASED = "released"
    SHIPPED = "shipped"


class StockReservation(IdMixin, Base):
    """Stock held for one order (``reference``); lines say from which warehouse."""

    __tablename__ = "stock_reservations"

    reference: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[ReservationStatus] = mapped_column(
        Enum(ReservationStatus, native_enum=False, length=16), default=ReservationStatus.OPEN
    )
    dealer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dealers.id"), index=True)
    backordered: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StockReservationLine(Base):
    __tablename__ = "stock_reservation_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "shipped >= 0 AND released >= 0 AND shipped + released <= quantity "
            "AND returned >= 0 AND returned <= shipped",
            name="settled_within_quantity",
        ),
    )

    reservation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stock_reservations.id", ondelete="CASCADE"), primary_key=True
    )
    warehouse_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warehouses.id"), primary_key=True)
    sku_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    shipped: Mapped[int] = mapped_column(BigInteger, default=0)
    released: Mapped[int] = mapped_column(BigInteger, default=0)
    returned: Mapped[int] = mapped_column(BigInteger, default=0)

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.shipped - self.released


class SkuSafetyStock(Base):
    """Below this available quantity a SKU shows as 'low' to dealers, in every warehouse."""

    __tablename__ = "sku_safety_stocks"

    sku_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("skus.id", ondelete="CASCADE"), primary_key=True
    )
    quantity: Mapped[int] = mapped_column(BigInteger)


class WarehouseStockPolicy(Base):
    """Per warehouse: the default safety stock and the allocation priority (lower goes first)."""

    __tablename__ = "warehouse_stock_policies"

    warehouse_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("warehouses.id", ondelete="CASCADE"), primary_key=True
    )
    safety_stock: Mapped[int] = mapped_column(BigInteger, default=0)
    priority: Mapped[int] = mapped_column(Integer, default=100)


class WarehouseRegion(Base):
    """A region (and its sub-regions) a warehouse ships to, with a priority (lower goes first)."""

    __tablename__ = "warehouse_regions"

    warehouse_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("warehouses.id", ondelete="CASCADE"), primary_key=True
    )
    region_code: Mapped[str] = mapped_column(
        ForeignKey("regions.code"), primary_key=True, index=True
    )
    priority: Mapped[int] = mapped_column(Integer, default=100)


class StockFeedBatch(Base):
    """An ERP feed batch already applied: a replay of its id answers ``result``, changes nothing."""

    __tablename__ = "stock_feed_batches"

    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
