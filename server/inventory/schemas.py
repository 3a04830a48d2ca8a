"""Inventory API bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from server.inventory.availability import StockBand
from server.inventory.models import MovementKind, ReservationStatus
from server.inventory.stock import MAX_ON_HAND, MAX_QUANTITY
from server.schemas import Request, Response
from server.text import multi_line, one_line

Quantity = Annotated[int, msgspec.Meta(ge=1, le=MAX_QUANTITY)]
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_ON_HAND)]
Delta = Annotated[int, msgspec.Meta(ge=-MAX_QUANTITY, le=MAX_QUANTITY)]
Reason = Annotated[str, multi_line(256, min_length=1)]
Code = Annotated[str, one_line(32, min_length=1)]
BatchId = Annotated[str, one_line(64, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Priority = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
RegionCode = Annotated[str, one_line(12, pattern=r"^[0-9]{2,12}$")]


class StockOut(Response, kw_only=True):
    warehouse_id: uuid.UUID
    sku_id: uuid.UUID
    sku_code: str
    sku_name: str
    on_hand: int
    reserved: int
    available: int
    safety_stock: int
    band: StockBand


class MovementOut(Response, kw_only=True):
    id: uuid.UUID
    at: datetime
    kind: MovementKind
    on_hand_delta: int
    reserved_delta: int
    reference: str
    reason: str
    actor_id: uuid.UUID | None


class StockAdjustmentIn(Request, kw_only=True):
    """``receipt`` adds goods, ``adjust`` adds or removes (delta), ``set`` records a count."""

    warehouse_id: uuid.UUID
    sku_id: uuid.UUID
    mode: Literal["receipt", "adjust", "set"]
    quantity: Delta
    reason: Reason


class FeedItem(Request, kw_only=True):
    warehouse_code: Code
    sku_code: Code
    mode: Literal["set", "adjust"]
    quantity: Delta


class StockFeedIn(Request, kw_only=True):
    batch_id: BatchId
    items: Annotated[list[FeedItem], msgspec.Meta(min_length=1, max_length=5000)]


class FeedItemResult(Response, kw_only=True):
    index: int
    warehouse_code: str
    sku_code: str
    outcome: Literal["applied", "rejected"]
    reason: str | None = None
    on_hand: int | None = None
    reserved: int | None = None


class StockFeedResult(Response, kw_only=True):
    batch_id: str
    replayed: bool
    applied: int
    rejected: int
    items: list[FeedItemResult]


class SafetyStockIn(Request, kw_only=True):
    quantity: Count | None
    """``null`` removes the SKU's own figure (the warehouse default applies again)."""


class SkuSafetyStockOut(Response, kw_only=True):
    sku_id: uuid.UUID
    quantity: int | None


class WarehousePolicyIn(Request, kw_only=True):
    safety_stock: Count = 0
    priority: Priority = 100


class WarehousePolicyOut(Response, kw_only=True):
    warehouse_id: uuid.UUID
    safety_stock: int
    priority: int


class WarehouseRegionIn(Request, kw_only=True):
    region_code: RegionCode
    priority: Priority = 100


class WarehouseRegionsIn(Request, kw_only=True):
    regions: Annotated[list[WarehouseRegionIn], msgspec.Meta(max_length=500)]


class WarehouseRegionOut(Response, kw_only=True):
    region_code: str
    priority: int


class ReservedLineOut(Response, kw_only=True):
    warehouse_id: uuid.UUID
    sku_id: uuid.UUID
    quantity: int
    shipped: int
    released: int
    returned: int


class BackorderOut(Response, kw_only=True):
    sku_id: uuid.UUID
    quantity: int


class ReservationOut(Response, kw_only=True):
    id: uuid.UUID
    reference: str
    status: ReservationStatus
    dealer_id: uuid.UUID | None
    lines: list[ReservedLineOut]
    backordered: list[BackorderOut]


class WarehouseBandOut(Response, kw_only=True):
    warehouse_id: uuid.UUID
    band: StockBand


class SkuBandsOut(Response, kw_only=True):
    sku_id: uuid.UUID
    sku_code: str
    sku_name: str
    band: StockBand
    warehouses: list[WarehouseBandOut]
