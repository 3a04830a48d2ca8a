"""Which sync scopes a caller may read, re-evaluated on every pull and connect."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.announcements import notice_scopes
from server.dealers import open_dealer
from server.identity import Principal, Role
from server.inventory.allocation import serving_warehouses
from server.regions import ancestry
from server.trail import TRAIL_SCOPE
from server.warehouses import warehouse_code

ALL_PROMOTIONS = "promo:all"
DEFAULT_PRICES = "price:default"


def dealer_scope(dealer_id: object) -> str:
    return f"dealer:{dealer_id}"


def stock_scope(warehouse_code: str) -> str:
    return f"stock:{warehouse_code}"


async def scopes_for(session: AsyncSession, principal: Principal) -> frozenset[str]:
    """A dealer's own scope, its price scopes (default, tier, regions with their ancestors),
    its promotion segments, its announcement scopes (all, tier, regions with their ancestors),
    the stock of the warehouses that serve it, and (for everyone) the approval trail's head."""
    if principal.role is Role.REP:
        return frozenset({f"rep:{principal.user_id}", ALL_PROMOTIONS, DEFAULT_PRICES, TRAIL_SCOPE})
    if principal.dealer_id is None:
        return frozenset({ALL_PROMOTIONS, DEFAULT_PRICES, TRAIL_SCOPE})
    dealer = await open_dealer(session, principal.dealer_id)
    if dealer is None:
        return frozenset()
    scopes = {
        dealer_scope(dealer.id),
        DEFAULT_PRICES,
        f"price:tier:{dealer.tier_code}",
        ALL_PROMOTIONS,
        f"promo:tier:{dealer.tier_code}",
        TRAIL_SCOPE,
    }
    regions: set[str] = set()
    for code in dealer.region_codes:
        regions.update(await ancestry(session, code))
    scopes.update(f"price:region:{code}" for code in regions)
    scopes.update(notice_scopes(dealer.tier_code, sorted(regions)))
    scopes.update(f"promo:{segment}" for segment in dealer.segments or [])
    for warehouse_id in await serving_warehouses(session, sorted(regions)):
        code = await warehouse_code(session, warehouse_id)
        if code is not None:
            scopes.add(stock_scope(code))
    return frozenset(scopes)
