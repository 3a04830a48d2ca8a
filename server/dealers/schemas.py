from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from server.dealers.models import DealerStatus
from server.schemas import Request, Response
from server.text import multi_line, one_line

Code = Annotated[str, one_line(32, pattern=r"^[A-Za-z0-9_-]{1,32}$")]
TierCode = Annotated[str, one_line(16, pattern=r"^[a-z][a-z0-9_]{0,15}$")]
Name = Annotated[str, one_line(128, min_length=1)]
ShortText = Annotated[str, one_line(64)]
Phone = Annotated[str, one_line(32)]
Address = Annotated[str, multi_line(256)]
RegionCode = Annotated[str, one_line(12, pattern=r"^[0-9]{2,12}$")]
Regions = Annotated[list[RegionCode], msgspec.Meta(max_length=200)]
Segments = Annotated[list[Annotated[str, one_line(32, min_length=1)]], msgspec.Meta(max_length=20)]
BasisPoints = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
CategoryCodes = Annotated[
    list[Annotated[str, one_line(32, min_length=1)]], msgspec.Meta(max_length=50)
]


class TierCreate(Request, kw_only=True):
    code: TierCode
    name_zh: Annotated[str, one_line(32, min_length=1)]
    name_en: Annotated[str, one_line(32, min_length=1)]
    rank: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    requires_prepayment: bool = False
    credit_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 0
    rebate_cap_bp: BasisPoints = 0
    """Share of an order's eligible goods amount rebate may pay (basis points; 0: none)."""
    rebate_excluded_categories: CategoryCodes = []
    """Category codes (with their sub-categories) whose goods rebate may not pay for."""
    rebate_excludes_promoted: bool = False
    """Lines a promotion touched (discounted, gifted or part of a threshold) are not eligible."""


class TierUpdate(Request, kw_only=True):
    name_zh: Annotated[str, one_line(32, min_length=1)] | None = None
    name_en: Annotated[str, one_line(32, min_length=1)] | None = None
    rank: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    requires_prepayment: bool | None = None
    credit_days: Annotated[int, msgspec.Meta(ge=0, le=365)] | None = None
    rebate_cap_bp: BasisPoints | None = None
    rebate_excluded_categories: CategoryCodes | None = None
    rebate_excludes_promoted: bool | None = None


class TierOut(Response, kw_only=True):
    code: str
    name_zh: str
    name_en: str
    rank: int
    requires_prepayment: bool
    credit_days: int
    rebate_cap_bp: int
    rebate_excluded_categories: list[str]
    rebate_excludes_promoted: bool


class DealerCreate(Request, kw_only=True):
    code: Code
    name: Name
    tier_code: TierCode
    region_codes: Regions = []
    parent_id: uuid.UUID | None = None
    contact_name: ShortText = ""
    contact_phone: Phone = ""
    address: Address = ""
    segments: Segments = []
    uses_rebate: bool = True
    """Whether its orders spend rebate (within the tier's cap) when they do not say."""


class DealerUpdate(Request, kw_only=True):
    name: Name | None = None
    tier_code: TierCode | None = None
    region_codes: Regions | None = None
    parent_id: uuid.UUID | None = None
    status: DealerStatus | None = None
    contact_name: ShortText | None = None
    contact_phone: Phone | None = None
    address: Address | None = None
    segments: Segments | None = None
    uses_rebate: bool | None = None


class DealerOut(Response, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    tier_code: str
    status: DealerStatus
    region_codes: list[str]
    parent_id: uuid.UUID | None
    contact_name: str
    contact_phone: str
    address: str
    segments: list[str]
    uses_rebate: bool
    created_at: datetime
