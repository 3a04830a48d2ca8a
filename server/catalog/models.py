"""Catalog: categories, products (SPU) and SKUs."""

from __future__ import annotations

import enum
import uuid
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, TimestampMixin


class Category(IdMixin, TimestampMixin, Base):
    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("categories.id"), index=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class ItemStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DISCONTINUED = "discontinued"


class Product(IdMixin, TimestampMixin, Base):
    __tablename__ = "products"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    brand: Mapped[str] = mapped_column(String(64), default="")
    category_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("categories.id"), index=True)
    status: Mapped[ItemStatus] = mapped_column(
        Enum(ItemStatus, native_enum=False, length=16), default=ItemStatus.ACTIVE
    )


class Sku(IdMixin, TimestampMixin, Base):
    __tablename__ = "skus"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    spec: Mapped[str] = mapped_column(String(64), default="")
    unit: Mapped[str] = mapped_column(String(16), default="瓶")
    pack_size: Mapped[int] = mapped_column(Integer, default=1)
    min_order_qty: Mapped[int] = mapped_column(Integer, default=1)
    # Sold only in whole cases: the quantity must be a multiple of ``pack_size``.
    whole_cases: Mapped[bool] = mapped_column(default=False, server_default="0")
    barcode: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[ItemStatus] = mapped_column(
        Enum(ItemStatus, native_enum=False, length=16), default=ItemStatus.ACTIVE
    )
    pinyin: Mapped[str] = mapped_column(String(256), default="", index=True)
    pinyin_initials: Mapped[str] = mapped_column(String(64), default="", index=True)
    # Object-storage keys of the SKU's images, in display order (served as presigned links).
    image_keys: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")


class CatalogRevision(Base):
    """One counter bumped by every write that changes what a priced catalog page shows.

    Catalog writes, price-list publishes and dealer pricing facts (tier, regions) bump it in
    their own transaction, so a cached page keyed by it is never served after the change
    committed: the very next request reads the new value.
    """

    __tablename__ = "catalog_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Bundle(IdMixin, TimestampMixin, Base):
    """A fixed bundle (套装): components sold together at ``bundle_price`` fen per set.

    ``version`` grows with every change, so explanations and quote snapshots pin it.
    """

    __tablename__ = "bundles"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    bundle_price: Mapped[int] = mapped_column(Integer)
    # [{"sku": "SKU00001", "qty": 1}, ...]
    components: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[ItemStatus] = mapped_column(
        Enum(ItemStatus, native_enum=False, length=16), default=ItemStatus.ACTIVE
    )
    version: Mapped[int] = mapped_column(Integer, default=1)


class ConfigurableProductRow(IdMixin, TimestampMixin, Base):
    """A configurable product: option groups and constraints (``server.pricing`` shape)."""

    __tablename__ = "configurable_products"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[ItemStatus] = mapped_column(
        Enum(ItemStatus, native_enum=False, length=16), default=ItemStatus.ACTIVE
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
