from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from server.schemas import Request, Response

Code = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
RegionCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2,12}$")]
Address = Annotated[str, msgspec.Meta(max_length=256)]


class WarehouseCreate(Request, kw_only=True):
    code: Code
    name: Name
    region_code: RegionCode
    address: Address = ""


class WarehouseUpdate(Request, kw_only=True):
    name: Name | None = None
    region_code: RegionCode | None = None
    address: Address | None = None
    active: bool | None = None


class WarehouseOut(Response, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    region_code: str
    address: str
    active: bool
    created_at: datetime
