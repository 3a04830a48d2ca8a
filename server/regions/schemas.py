from __future__ import annotations

from datetime import datetime
from typing import Annotated

from server.regions.models import RegionLevel
from server.schemas import Request, Response
from server.text import one_line

RegionCode = Annotated[str, one_line(12, pattern=r"^[0-9]{2,12}$")]
Name = Annotated[str, one_line(64, min_length=1)]


class RegionCreate(Request, kw_only=True):
    code: RegionCode
    name: Name
    level: RegionLevel
    parent_code: RegionCode | None = None


class RegionUpdate(Request, kw_only=True):
    name: Name | None = None


class RegionOut(Response, kw_only=True):
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    created_at: datetime
