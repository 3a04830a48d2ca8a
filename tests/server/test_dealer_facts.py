"""Every active dealer's pricing facts in one call are what the per-dealer reader answers."""

from __future__ import annotations

from server.db.engine import Database
from server.dealers import DealerStatus, active_dealer_pricing_facts, dealer_pricing_facts
from server.pricing import RegionCode
from tests.factories import make_dealer, make_regions, make_tiers


async def test_the_bulk_read_matches_one_dealer_at_a_time(db: Database) -> None:
    await make_regions(db)
    await make_tiers(db)
    west_lake = await make_dealer(db, "core", ("330106", "440100"))
    hangzhou = await make_dealer(db, "growth", ("330100",))
    nowhere = await make_dealer(db, "watch")
    await make_dealer(db, "core", ("330106",), status=DealerStatus.CLOSED)
    async with db.session() as s:
        bulk = await active_dealer_pricing_facts(s)
        one_by_one = [await dealer_pricing_facts(s, d.id) for d in (west_lake, hangzhou, nowhere)]
    assert bulk == one_by_one  # by code, the closed dealer left out
    assert bulk[0].regions == (
        RegionCode(code="330000", depth=0),
        RegionCode(code="330100", depth=1),
        RegionCode(code="330106", depth=2),
        RegionCode(code="440000", depth=0),
        RegionCode(code="440100", depth=1),
    )
    assert (bulk[1].tier, bulk[2].regions) == ("growth", ())
