"""Catalog request and response bodies (HQ administration and dealer browse)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from server.catalog.models import ItemStatus
from server.schemas import Request, Response
from server.text import one_line

Code = Annotated[str, one_line(32, pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
Name = Annotated[str, one_line(128, min_length=1)]
Short = Annotated[str, one_line(64)]
Unit = Annotated[str, one_line(16, min_length=1)]
Barcode = Annotated[str, one_line(32, pattern=r"^[0-9A-Za-z-]{4,32}$")]
Count = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
ImageKey = Annotated[str, one_line(512, min_length=1)]
ImageKeys = Annotated[list[ImageKey], msgspec.Meta(max_length=20)]
SortOrder = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]


class CategoryCreate(Request, kw_only=True):
    code: Code
    name: Annotated[str, one_line(64, min_length=1)]
    parent_id: uuid.UUID | None = None
    sort_order: SortOrder = 0


class CategoryUpdate(Request, kw_only=True):
    name: Annotated[str, one_line(64, min_length=1)] | None = None
    sort_order: SortOrder | None = None


class CategoryOut(Response, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    parent_id: uuid.UUID | None
    sort_order: int


class ProductCreate(Request, kw_only=True):
    code: Code
    name: Name
    category_id: uuid.UUID
    brand: Short = ""
    status: ItemStatus = ItemStatus.ACTIVE


class ProductUpdate(Request, kw_only=True):
    name: Name | None = None
    category_id: uuid.UUID | None = None
    brand: Short | None = None
    status: ItemStatus | None = None


class ProductOut(Response, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    brand: str
    category_id: uuid.UUID
    status: ItemStatus


class SkuCreate(Request, kw_only=True):
    code: Code
    product_id: uuid.UUID
    name: Name
    spec: Short = ""
    unit: Unit = "瓶"
    pack_size: Count = 1
    min_order_qty: Count = 1
    whole_cases: bool = False
    barcode: Barcode | None = None
    status: ItemStatus = ItemStatus.ACTIVE
    image_keys: ImageKeys = msgspec.field(default_factory=list)


class SkuUpdate(Request, kw_only=True):
    name: Name | None = None
    spec: Short | None = None
    unit: Unit | None = None
    pack_size: Count | None = None
    min_order_qty: Count | None = None
    whole_cases: bool | None = None
    barcode: Barcode | None = None
    status: ItemStatus | None = None
    image_keys: ImageKeys | None = None


class SkuOut(Response, kw_only=True):
    id: uuid.UUID
    code: str
    product_id: uuid.UUID
    name: str
    spec: str
    unit: str
    pack_size: int
    min_order_qty: int
    whole_cases: bool
    barcode: str | None
    status: ItemStatus
    pinyin: str
    pinyin_initials: str
    image_keys: list[str]
    updated_at: datetime


class ImageUpload(Request, kw_only=True):
    content_type: Annotated[str, one_line(64, pattern=r"^image/(jpeg|png|webp)$")]


class BreakOut(Response, kw_only=True):
    min_qty: int
    unit_price: int
    max_qty: int | None = None


class RuleRefOut(Response, kw_only=True):
    id: str
    version: int


class MyPrice(Response, kw_only=True):
    """The dealer's own price: the winning list's unit price (fen) and its volume breaks."""

    currency: str
    unit_price: int
    break_kind: str
    breaks: list[BreakOut]
    price_list: RuleRefOut


class PriceProblem(Response, kw_only=True):
    code: str
    message: str


class DealerSkuOut(Response, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    spec: str
    unit: str
    pack_size: int
    min_order_qty: int
    whole_cases: bool
    barcode: str | None
    brand: str
    category_id: uuid.UUID
    images: list[str]
    price: MyPrice | None
    price_problem: PriceProblem | None = None
