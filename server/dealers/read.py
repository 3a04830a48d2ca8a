"""Read model of the dealers domain: what other domains may learn about a dealer.

The dealers domain owns the ``dealers``, ``dealer_regions`` and ``dealer_tiers`` tables; other
domains read them only through these functions (or ``dealer_pricing_facts``), never by
importing the models.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import get_or_404
from server.dealers.models import Dealer, DealerAddress, DealerRegion, DealerStatus, DealerTier
from server.errors import NotFound


class RebateTerms(msgspec.Struct, frozen=True, kw_only=True):
    """How far rebate may pay a dealer's orders (its tier's cap) and whether it does by default.

    ``cap_bp``: basis points of an order's eligible goods amount (0: rebate pays nothing);
    goods in ``excluded_categories`` (codes, with sub-categories) and, with
    ``excludes_promoted``, lines a promotion touched are not eligible.
    """

    cap_bp: int = 0
    excluded_categories: tuple[str, ...] = ()
    excludes_promoted: bool = False
    uses_rebate: bool = True


def rebate_terms_of(row: Any) -> RebateTerms:
    """The terms from the four ``REBATE_COLUMNS`` of a row (a missing tier: no rebate)."""
    cap_bp, categories, excludes_promoted, uses_rebate = row
    return RebateTerms(
        cap_bp=int(cap_bp or 0),
        excluded_categories=tuple(categories or ()),
        excludes_promoted=bool(excludes_promoted),
        uses_rebate=bool(uses_rebate),
    )


REBATE_COLUMNS = (
    DealerTier.rebate_cap_bp,
    DealerTier.rebate_excluded_categories,
    DealerTier.rebate_excludes_promoted,
    Dealer.uses_rebate,
)


async def rebate_terms(session: AsyncSession, dealer_id: uuid.UUID) -> RebateTerms:
    """The dealer's rebate terms (its tier's cap and exclusions, its default choice); 404
    ``dealer_not_found`` for no such dealer."""
    row = (
        await session.execute(
            select(*REBATE_COLUMNS)
            .select_from(Dealer)
            .outerjoin(DealerTier, DealerTier.code == Dealer.tier_code)
            .where(Dealer.id == dealer_id)
        )
    ).first()
    if row is None:
        raise NotFound("dealer_not_found")
    return rebate_terms_of(tuple(row))


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


async def known_dealer_ids(session: AsyncSession, dealer_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these ids name a dealer that is not closed."""
    if not dealer_ids:
        return set()
    stmt = select(Dealer.id).where(
        Dealer.id.in_(sorted(dealer_ids)), Dealer.status != DealerStatus.CLOSED
    )
    return set((await session.execute(stmt)).scalars())


async def get_dealer(session: AsyncSession, dealer_id: uuid.UUID) -> Dealer:
    """The dealer, or ``dealer_not_found`` (404)."""
    return await get_or_404(session, Dealer, dealer_id, "dealer")


async def tier_requires_prepayment(session: AsyncSession, tier_code: str) -> bool:
    """Whether the tier's dealers must pay before delivery (no credit); False for no tier."""
    tier = await session.get(DealerTier, tier_code)
    return tier is not None and tier.requires_prepayment


async def open_dealer_ids(session: AsyncSession, tier_code: str) -> list[uuid.UUID]:
    """Every dealer of the tier that is not closed, by id."""
    stmt = (
        select(Dealer.id)
        .where(Dealer.tier_code == tier_code, Dealer.status != DealerStatus.CLOSED)
        .order_by(Dealer.id)
    )
    return list((await session.execute(stmt)).scalars())


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
    by commas, the four ``REBATE_COLUMNS`` (see ``rebate_terms_of``), then ``trailing``
    columns. The order gate's one statement is built on it."""
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
            *REBATE_COLUMNS,
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
