"""Read model of the dealers domain: what other domains may learn about a dealer.

The dealers domain owns the ``dealers``, ``dealer_regions`` and ``dealer_tiers`` tables; other
domains read them only through these functions (or ``dealer_pricing_facts``), never by
importing the models.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import get_or_404
from server.dealers.models import Dealer, DealerAddress, DealerRegion, DealerStatus, DealerTier


async def dealer_standing(session: AsyncSession, dealer_id: uuid.UUID) -> bool | None:
    """Whether the dealer's users may sign in: True (open), False (closed), None (no dealer)."""
    dealer = await session.get(Dealer, dealer_id)
    if dealer is None:
        return None
    return dealer.status is not DealerStatus.CLOSED


async def open_dealer(session: AsyncSession, dealer_id: uuid.UUID) -> Dealer | None:
    """The dealer unless it is closed (None as well when there is no such dealer)."""
    dealer = await session.get(Dealer, dealer_id)
    return dealer if dealer is not None and dealer.status is not DealerStatus.CLOSED else None


async def get_dealer(session: AsyncSession, dealer_id: uuid.UUID) -> Dealer:
    """The dealer, or ``dealer_not_found`` (404)."""
    return await get_or_404(session, Dealer, dealer_id, "dealer")


async def tier_requires_prepayment(session: AsyncSession, tier_code: str) -> bool:
    """Whether the tier's dealers must pay before delivery (no credit); False for no tier."""
    tier = await session.get(DealerTier, tier_code)
    return tier is not None and tier.requires_prepayment


async def tier_codes(session: AsyncSession) -> list[str]:
    """Every tier's code, by rank."""
    stmt = select(DealerTier.code).order_by(DealerTier.rank)
    return list((await session.execute(stmt)).scalars())


async def get_tier(session: AsyncSession, code: str) -> DealerTier:
    """The tier, or ``tier_not_found`` (404)."""
    return await get_or_404(session, DealerTier, code, "tier")


def standing_select(
    leading: tuple[Any, ...], trailing: tuple[Any, ...]
) -> Select[*tuple[Any, ...]]:
    """One row for the dealer bound as ``dealer``: ``leading`` columns, then its status, tier
    code (None: no such tier), whether the tier requires prepayment, its region codes joined
    by commas, then ``trailing`` columns. The order gate's one statement is built on it."""
    regions = (
        select(func.aggregate_strings(DealerRegion.region_code, ","))
        .where(DealerRegion.dealer_id == Dealer.id)
        .scalar_subquery()
    )
    return (
        select(
            *leading,
            Dealer.status,
            DealerTier.code,
            DealerTier.requires_prepayment,
            regions,
            *trailing,
        )
        .outerjoin(DealerTier, DealerTier.code == Dealer.tier_code)
        .where(Dealer.id == bindparam("dealer"))
    )


async def address_region(
    session: AsyncSession, dealer_id: uuid.UUID, address_id: uuid.UUID
) -> str | None:
    """The region code of one of the dealer's addresses (None: not this dealer's address)."""
    address = await session.get(DealerAddress, address_id)
    if address is None or address.dealer_id != dealer_id:
        return None
    return address.region_code
