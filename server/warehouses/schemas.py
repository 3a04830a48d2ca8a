from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from server.schemas import Request, Response
from server.text import multi_line, one_line

Code = Annotated[str, one_line(32, pattern=r"^[A-Za-z0-9_-]{1,32}$")]
Name = Annotated[str, one_line(128, min_length=1)]
RegionCode = Annotated[str, one_line(12, pattern=r"^[0-9]{2,12}$")]
Address = Annotated[str, multi_line(256)]


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
