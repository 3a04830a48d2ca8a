"""Promotion shapes at the API edge; ``Mechanic`` is a union tagged by ``kind``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec

from server.schemas import Request, Response
from server.text import one_line

Fen = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
PositiveFen = Annotated[int, msgspec.Meta(gt=0, le=10**12)]
BasisPoints = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
Count = Annotated[int, msgspec.Meta(ge=1, le=10**6)]
Code = Annotated[str, one_line(32, min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
Codes = Annotated[list[Annotated[str, one_line(64, min_length=1)]], msgspec.Meta(max_length=500)]


class _Mechanic(Request, kw_only=True, tag_field="kind"):
    pass


class PercentOff(_Mechanic, tag="percent_off"):
    """折扣: basis points off each eligible line."""

    percent_off_bp: BasisPoints


class AmountOff(_Mechanic, tag="amount_off"):
    """每件立减: fen off each unit of an eligible line."""

    amount_off: PositiveFen


class SpecialPrice(_Mechanic, tag="special_price"):
    """特价: eligible SKUs at this unit price."""

    unit_price: Fen


class Threshold(_Mechanic, tag="threshold"):
    """满减: ``discount`` off once the eligible amount reaches ``threshold`` (or every N)."""

    threshold: PositiveFen
    discount: Fen
    repeat: bool = False
    max_times: Count | None = None


class Tier(Request, kw_only=True):
    threshold: PositiveFen
    discount: Fen


class Tiered(_Mechanic, tag="tiered"):
    """阶梯满减: the highest reached rung's discount."""

    tiers: Annotated[list[Tier], msgspec.Meta(min_length=1, max_length=20)]


class BuyGet(_Mechanic, tag="buy_get"):
    """买赠: every ``buy_qty`` eligible units earn ``gift_qty`` of ``gift_sku``."""

    buy_qty: Count
    gift_sku: Annotated[str, one_line(32, min_length=1)]
    gift_qty: Count
    repeat: bool = True
    max_gifts: Count | None = None


class RebateShare(_Mechanic, tag="rebate"):
    """返利: ``share_bp`` of eligible order amounts accrues to the dealer's rebate account."""

    share_bp: BasisPoints


class _Claimable(_Mechanic):
    amount: PositiveFen
    """What one approved claim pays (fen)."""
    max_images: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5
    auto_approve_limit: Fen = 0
    """Claims up to this amount are approved without a person when OCR is confident."""
    min_confidence: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.85
    min_total: Fen | None = None
    """Sell-out: the receipt total must reach this (fen)."""
    min_qty: Count = 1
    """Sell-out: units of the promotion's SKUs each receipt must show."""


class DisplayFee(_Claimable, tag="display_fee"):
    """陈列费: a claim for shelf placement, proved by photos."""


class SellOut(_Claimable, tag="sell_out"):
    """促销核销: a claim proved by till receipts of the promotion's products."""


Mechanic = (
    PercentOff
    | AmountOff
    | SpecialPrice
    | Threshold
    | Tiered
    | BuyGet
    | RebateShare
    | DisplayFee
    | SellOut
)
CLAIMABLE_KINDS = frozenset({"display_fee", "sell_out"})


class EligibilityIn(Request, kw_only=True):
    """Who may have the promotion; an empty list means no restriction."""

    tiers: Codes = msgspec.field(default_factory=list)
    regions: Codes = msgspec.field(default_factory=list)
    dealer_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    segments: Codes = msgspec.field(default_factory=list)
    skus: Codes = msgspec.field(default_factory=list)
    categories: Codes = msgspec.field(default_factory=list)


class BudgetIn(Request, kw_only=True):
    """Caps in fen and/or claims/orders, for the whole promotion and per dealer."""

    amount: Fen | None = None
    count: Count | None = None
    dealer_amount: Fen | None = None
    dealer_count: Count | None = None


class PromotionIn(Request, kw_only=True):
    code: Code
    name: Annotated[str, one_line(128, min_length=1)]
    mechanic: Mechanic
    currency: Annotated[str, one_line(3, pattern=r"^[A-Z]{3}$")] = "CNY"
    eligibility: EligibilityIn = msgspec.field(default_factory=EligibilityIn)
    starts_on: date | None = None
    ends_on: date | None = None
    """Inclusive days in the brand's time zone."""
    priority: Annotated[int, msgspec.Meta(ge=-1000, le=1000)] = 0
    exclusive_group: Annotated[str, one_line(32, min_length=1)] | None = None
    stackable: bool = True
    budget: BudgetIn = msgspec.field(default_factory=BudgetIn)
    pilot_share_bp: Annotated[int, msgspec.Meta(ge=1, le=9_999)] | None = None
    """Run as a pilot: this share of eligible dealers get it, the rest are the control."""


class PromotionOut(Response, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    kind: str
    mechanic: Mechanic
    currency: str
    status: str
    version: int
    eligibility: EligibilityIn
    starts_on: date | None
    ends_on: date | None
    starts_at: datetime | None
    ends_at: datetime | None
    priority: int
    exclusive_group: str | None
    stackable: bool
    budget: BudgetIn
    pilot_share_bp: int | None
    published_at: datetime | None
    claimable: bool


class BudgetStatusOut(Response, kw_only=True):
    promotion_id: uuid.UUID
    dealer_id: uuid.UUID | None
    limit_amount: int | None
    limit_count: int | None
    used_amount: int
    used_count: int
    remaining_amount: int | None
    remaining_count: int | None


class PilotGroupOut(Response, kw_only=True):
    group: str
    dealers: int
    active_dealers: int
    documents: int
    documents_per_dealer: float
    distinct_skus_per_active_dealer: float
    amount: int
    amount_per_dealer: float


class PilotReportOut(Response, kw_only=True):
    """Test vs control over the promotion's window; ``source`` names the data used."""

    promotion_id: uuid.UUID
    share_bp: int | None
    source: str
    note: str
    test: PilotGroupOut
    control: PilotGroupOut


class PilotPointOut(Response, kw_only=True):
    """One period of a pilot's timeline: each group's orders in ``[since, until)``."""

    since: datetime
    until: datetime
    test_orders: int
    control_orders: int
    test_amount: int
    control_amount: int
    test_orders_per_dealer: float
    control_orders_per_dealer: float
