"""Read model of the dealers domain: what other domains may learn about a dealer.

The dealers domain owns the ``dealers``, ``dealer_regions`` and ``dealer_tiers`` tables; other
domains read them only through these functions (or ``dealer_pricing_facts``), never by
importing the models.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import get_or_404
from server.dealers.models import Dealer, DealerStatus, DealerTier


async def dealer_standing(session: AsyncSession, dealer_id: uuid.UUID) -> bool | None:
    """Whether the dealer's users may sign in: True (open), False (closed), None (no dealer)."""
    dealer = await session.get(Dealer, dealer_id)
    if dealer is None:
        return None
    return dealer.status is not DealerStatus.CLOSED


async def get_dealer(session: AsyncSession, dealer_id: uuid.UUID) -> Dealer:
    """The dealer, or ``dealer_not_found`` (404)."""
    return await get_or_404(session, Dealer, dealer_id, "dealer")


async def get_tier(session: AsyncSession, code: str) -> DealerTier:
    """The tier, or ``tier_not_found`` (404)."""
    return await get_or_404(session, DealerTier, code, "tier")
