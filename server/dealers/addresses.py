"""Dealers' ship-to addresses. The session is scoped to the caller's dealer, so lookups of
another dealer's address find nothing (404)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import get_or_404
from server.dealers.models import DealerAddress
from server.errors import Invalid
from server.regions import region_exists
from server.schemas import Request, Response, set_fields
from server.text import multi_line, one_line

MAX_ADDRESSES = 50
Text64 = Annotated[str, one_line(64, min_length=1)]
Phone = Annotated[str, one_line(32, pattern=r"^[0-9+\- ]{5,20}$")]
RegionCode = Annotated[str, one_line(12, pattern=r"^[0-9]{2,12}$")]
Detail = Annotated[str, multi_line(256, min_length=1)]
Label = Annotated[str, one_line(32)]


class AddressIn(Request, kw_only=True):
    contact_name: Text64
    contact_phone: Phone
    region_code: RegionCode
    detail: Detail
    label: Label = ""
    is_default: bool = False


class AddressUpdate(Request, kw_only=True):
    contact_name: Text64 | None = None
    contact_phone: Phone | None = None
    region_code: RegionCode | None = None
    detail: Detail | None = None
    label: Label | None = None
    is_default: bool | None = None


class AddressOut(Response, kw_only=True):
    id: uuid.UUID
    label: str
    contact_name: str
    contact_phone: str
    region_code: str
    detail: str
    is_default: bool
    updated_at: datetime


def address_out(a: DealerAddress) -> AddressOut:
    return AddressOut(
        id=a.id,
        label=a.label,
        contact_name=a.contact_name,
        contact_phone=a.contact_phone,
        region_code=a.region_code,
        detail=a.detail,
        is_default=a.is_default,
        updated_at=a.updated_at,
    )


async def _check_region(session: AsyncSession, code: str) -> None:
    if not await region_exists(session, code):
        raise Invalid(
            "region_unknown",
            "地区编码不存在",
            "Unknown region code",
            errors=[{"key": "regionCode", "message": "未知区域", "message_en": "unknown"}],
        )


async def _clear_default(session: AsyncSession, dealer_id: uuid.UUID) -> None:
    await session.execute(
        update(DealerAddress)
        .where(DealerAddress.dealer_id == dealer_id)
        .values(is_default=False)
        .execution_options(synchronize_session="fetch")
    )


async def list_addresses(session: AsyncSession) -> Sequence[DealerAddress]:
    stmt = select(DealerAddress).order_by(DealerAddress.is_default.desc(), DealerAddress.created_at)
    return (await session.execute(stmt)).scalars().all()


async def create_address(
    session: AsyncSession, dealer_id: uuid.UUID, body: AddressIn
) -> DealerAddress:
    await _check_region(session, body.region_code)
    count = await session.scalar(select(func.count()).select_from(DealerAddress))
    if (count or 0) >= MAX_ADDRESSES:
        raise Invalid(
            "address_limit",
            f"最多保存 {MAX_ADDRESSES} 个地址",
            f"At most {MAX_ADDRESSES} addresses",
        )
    if body.is_default or not count:
        await _clear_default(session, dealer_id)
    address = DealerAddress(
        id=uuid.uuid4(),
        dealer_id=dealer_id,
        **{f: getattr(body, f) for f in body.__struct_fields__},
    )
    address.is_default = body.is_default or not count
    session.add(address)
    await session.flush()
    return address


async def update_address(
    session: AsyncSession, dealer_id: uuid.UUID, address_id: uuid.UUID, body: AddressUpdate
) -> DealerAddress:
    address = await get_or_404(session, DealerAddress, address_id, "address")
    changes = set_fields(body)
    if body.region_code is not None:
        await _check_region(session, body.region_code)
    if body.is_default:
        await _clear_default(session, dealer_id)
    for name, value in changes.items():
        setattr(address, name, value)
    await session.flush()
    return address


async def delete_address(session: AsyncSession, address_id: uuid.UUID) -> None:
    address = await get_or_404(session, DealerAddress, address_id, "address")
    await session.delete(address)
    await session.flush()
