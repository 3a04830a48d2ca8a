"""Quote request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from server.quotes.models import QuoteStatus
from server.schemas import ReasonText, Request, Response
from server.text import multi_line, one_line

# A unit price: quote_lines.requested_unit_price is a 32-bit column.
Fen = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
BasisPoints = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
Comment = Annotated[str, multi_line(500)]


class QuoteLineIn(Request, kw_only=True):
    sku: Annotated[str, one_line(32, min_length=1)]
    qty: Annotated[int, msgspec.Meta(ge=-(10**9), le=10**9)]
    # A negotiated unit price below the policy price (fen); above the thresholds it needs HQ.
    requested_unit_price: Fen | None = None


class QuoteCreate(Request, kw_only=True):
    id: uuid.UUID | None = None
    lines: Annotated[list[QuoteLineIn], msgspec.Meta(min_length=1, max_length=200)]
    note: Comment = ""
    valid_days: Annotated[int, msgspec.Meta(ge=1, le=90)] | None = None


class DecisionIn(Request, kw_only=True):
    comment: Comment = ""


class QuoteLineOut(Response, kw_only=True):
    line: int
    sku: str
    sku_name: str
    qty: int
    gift: bool
    list_unit_price: int
    list_amount: int
    policy_amount: int
    requested_unit_price: int | None
    amount: int
    extra_discount_bp: int


class DecisionOut(Response, kw_only=True):
    action: str
    actor_id: uuid.UUID | None
    actor_role: str | None
    comment: str
    at: datetime


class QuoteOut(Response, kw_only=True):
    id: uuid.UUID
    dealer_id: uuid.UUID
    status: QuoteStatus
    currency: str
    valid_until: datetime
    list_amount: int
    policy_amount: int
    amount: int
    extra_discount_bp: int
    needs_approval: bool
    approval_reasons: list[str]
    approval_notes: list[ReasonText]
    basis_fingerprint: str
    note: str
    created_at: datetime
    lines: list[QuoteLineOut]
    decisions: list[DecisionOut]
    snapshot: dict[str, Any] | None = None


class ThresholdIn(Request, kw_only=True):
    line_discount_bp: BasisPoints
    quote_discount_bp: BasisPoints


class ThresholdOut(Response, kw_only=True):
    tier_code: str
    line_discount_bp: int
    quote_discount_bp: int
