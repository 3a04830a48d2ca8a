"""Price-list request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from server.pricelists.models import PriceListStatus
from server.pricing import BreakKind, Scope
from server.schemas import Request, Response
from server.text import one_line

Code = Annotated[str, one_line(32, pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
Name = Annotated[str, one_line(128, min_length=1)]
# A unit price: price_list_items.unit_price is a 32-bit column.
MAX_UNIT_PRICE = 2**31 - 1
Fen = Annotated[int, msgspec.Meta(ge=0, le=MAX_UNIT_PRICE)]
Qty = Annotated[int, msgspec.Meta(ge=1, le=10**9)]
Currency = Annotated[str, one_line(3, pattern=r"^[A-Z]{3}$")]


class BreakIn(Request, kw_only=True):
    min_qty: Qty
    unit_price: Fen
    max_qty: Qty | None = None


class ItemIn(Request, kw_only=True):
    sku: Annotated[str, one_line(32, min_length=1)]
    unit_price: Fen
    break_kind: BreakKind = BreakKind.RANGE
    breaks: Annotated[list[BreakIn], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )


Items = Annotated[list[ItemIn], msgspec.Meta(max_length=5000)]


class PriceListCreate(Request, kw_only=True):
    code: Code
    name: Name
    scope: Scope
    scope_key: Annotated[str, one_line(64, min_length=1)] | None = None
    priority: Annotated[int, msgspec.Meta(ge=-1000, le=1000)] = 0
    currency: Currency = "CNY"
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    items: Items = msgspec.field(default_factory=list)


class PriceListUpdate(Request, kw_only=True):
    name: Name | None = None
    priority: Annotated[int, msgspec.Meta(ge=-1000, le=1000)] | None = None
    effective_from: datetime | None = None
    effective_to: datetime | None = None


class ItemsReplace(Request, kw_only=True):
    items: Items


class PriceListOut(Response, kw_only=True):
    id: uuid.UUID
    code: str
    version: int
    name: str
    scope: Scope
    scope_key: str | None
    priority: int
    currency: str
    effective_from: datetime | None
    effective_to: datetime | None
    status: PriceListStatus
    published_at: datetime | None
    item_count: int


class BreakOut(Response, kw_only=True):
    min_qty: int
    unit_price: int
    max_qty: int | None = None


class ItemOut(Response, kw_only=True):
    sku: str
    unit_price: int
    break_kind: str
    breaks: list[BreakOut]
