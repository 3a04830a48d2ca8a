"""What dealers are told when a price list for them is published (``server.notifications``):
the dealers of a tier-scoped list's tier, or the one dealer of a dealer-scoped list."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.dealers import open_dealer_ids
from server.notifications import EventKind, notify
from server.pricelists.models import PriceListVersion
from server.pricing import Scope


async def notify_price_list_published(session: AsyncSession, version: PriceListVersion) -> None:
    """Tell the dealers a newly published tier (or dealer) price list applies to, once."""
    if version.scope is Scope.TIER and version.scope_key:
        dealers = await open_dealer_ids(session, version.scope_key)
    elif version.scope is Scope.DEALER and version.scope_key:
        try:
            dealers = [uuid.UUID(version.scope_key)]
        except ValueError:  # a dealer list's key is the dealer's id; anything else tells no one
            return
    else:
        return
    if dealers:
        await notify(
            session,
            EventKind.PRICE_LIST_CHANGED,
            str(version.id),
            dealer_ids=dealers,
            params={
                "priceList": version.name,
                "tier": version.scope_key if version.scope is Scope.TIER else "",
                "status": "published",
                "at": version.published_at or utcnow(),
            },
        )
