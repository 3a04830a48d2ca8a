"""Return requests and answers at the API edge (camelCase, amounts in fen)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from server.returns.models import Disposition, ReturnStatus
from server.schemas import Request, Response
from server.text import multi_line, one_line

Comment = Annotated[str, multi_line(500)]
MAX_PHOTOS = 9


class ReturnReason(enum.StrEnum):
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    EXPIRED = "expired"
    QUALITY = "quality"
    OVERSTOCK = "overstock"
    OTHER = "other"


REASON_NAMES: dict[ReturnReason, tuple[str, str]] = {
    ReturnReason.DAMAGED: ("破损", "damaged in transit"),
    ReturnReason.WRONG_ITEM: ("错发", "wrong item sent"),
    ReturnReason.EXPIRED: ("临期/过期", "near or past its date"),
    ReturnReason.QUALITY: ("质量问题", "quality problem"),
    ReturnReason.OVERSTOCK: ("滞销", "slow-selling stock"),
    ReturnReason.OTHER: ("其他", "other"),
}


class ReturnLineIn(Request, kw_only=True):
    """``line`` is the order line's number; ``qty`` at most shipped minus already returned."""

    line: Annotated[int, msgspec.Meta(ge=0, le=10_000)]
    qty: Annotated[int, msgspec.Meta(ge=1, le=10**8)]


class ReturnCreate(Request, kw_only=True):
    """A return of shipped goods: client ``id`` (a retry with the same content answers the
    stored return), the order, the lines, a reason and photos already uploaded with
    ``POST /mp/returns/photos/presign`` (by their ``photoId``)."""

    id: uuid.UUID
    order_id: uuid.UUID
    lines: Annotated[list[ReturnLineIn], msgspec.Meta(min_length=1, max_length=500)]
    reason: ReturnReason
    note: Comment = ""
    photo_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=MAX_PHOTOS)] = []
    exchange: bool = False
    """An exchange (换货): when the goods are received, a replacement order of the same
    lines is placed at the prices paid on the original order."""


class PhotoPresignIn(Request, kw_only=True):
    photo_id: uuid.UUID
    content_type: Annotated[str, one_line(64)] = "image/jpeg"


class PhotoPresignOut(Response, kw_only=True):
    photo_id: uuid.UUID
    key: str
    url: str
    fields: dict[str, str]
    expires_at: int
    max_bytes: int


class CommentIn(Request, kw_only=True):
    """A decision's comment (a rejection needs one)."""

    comment: Comment = ""


class ReceiveIn(Request, kw_only=True):
    """Where the received goods go: sellable stock, quarantine or scrap."""

    disposition: Disposition = Disposition.SELLABLE


class WindowIn(Request, kw_only=True):
    """Returns are requested within this many days of the order's last shipment."""

    window_days: Annotated[int, msgspec.Meta(ge=0, le=3650)]


class WindowOut(Response, kw_only=True):
    window_days: int


class ReturnLineOut(Response, kw_only=True):
    line: int
    order_line: int
    sku: str
    sku_name: str
    qty: int
    refund: int


class DecisionOut(Response, kw_only=True):
    step: int
    outcome: str
    actor_id: uuid.UUID | None
    comment: str
    at: datetime


class MoneyText(Response, kw_only=True):
    """How the refund was reckoned, in both languages."""

    zh: str
    en: str


class ReturnOut(Response, kw_only=True):
    id: uuid.UUID
    dealer_id: uuid.UUID
    order_id: uuid.UUID
    status: ReturnStatus
    reason: str
    reason_zh: str
    reason_en: str
    note: str
    currency: str
    step: int
    disposition: Disposition | None
    returned_value: int
    refund: int
    refund_prepaid: int
    refund_credit: int
    refund_rebate: int
    clawback: int
    clawback_short: int
    exchange: bool
    exchange_order_id: uuid.UUID | None
    explanation: MoneyText
    lines: list[ReturnLineOut]
    photos: list[str]
    decisions: list[DecisionOut]
    version: int
    created_at: datetime
    updated_at: datetime
