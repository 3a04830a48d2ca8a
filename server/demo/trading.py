"""Prices, stock and money of the demo channel, through each domain's own services.

The standard list prices every SKU with volume breaks on the fast movers; core dealers have
their own list about 3% lower on drinks. Each warehouse holds two to five weeks of its share
of the brand's sales, except where the demo shows a shortage: NFC orange juice (short shelf
life) is sold out in Chengdu and 5 L water runs low in Guangzhou.
"""

from __future__ import annotations

import random
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.funds import set_credit_limit, top_up
from server.accounts.schemas import TopUpIn
from server.demo.brand import ITEMS, Item
from server.demo.network import DEALERS, WAREHOUSE_COVERAGE, WAREHOUSES
from server.identity.principal import Principal
from server.inventory.hq_stock import receive_stock
from server.inventory.policies import set_warehouse_regions
from server.inventory.schemas import WarehouseRegionIn, WarehouseRegionsIn
from server.pricelists import service as pricelists
from server.pricelists.schemas import BreakIn, ItemIn, PriceListCreate
from server.pricing import Scope
from server.warehouses import warehouse_ids_by_code

CORE_DISCOUNT_CATEGORIES = ("P-WATER", "P-MINERAL", "P-SODA", "P-JASMINE", "P-ICETEA")
# Cases on hand where the demo shows a shortage (0: none received).
SHORTAGES = {("WH-CD", "SKU00014"): 0, ("WH-GZ", "SKU00004"): 12}
WEEKS_PER_MONTH = 4.33


def _core_price(fen: int) -> int:
    """97% of a price, to the nearest 10 fen (¥24.00 -> ¥23.30)."""
    return (fen * 97 + 500) // 1000 * 10


def _item(item: Item, *, core: bool = False) -> ItemIn:
    def price(fen: int) -> int:
        return _core_price(fen) if core else fen

    return ItemIn(
        sku=item.code,
        unit_price=price(item.price),
        breaks=[BreakIn(min_qty=qty, unit_price=price(fen)) for qty, fen in item.breaks],
    )


async def insert_price_lists(session: AsyncSession, actor: Principal) -> None:
    """The standard list for everyone and the core tier's list, both published."""
    standard = await pricelists.create_price_list(
        session,
        actor,
        PriceListCreate(
            code="STD-2026",
            name="2026 标准经销价",
            scope=Scope.DEFAULT,
            items=[_item(item) for item in ITEMS],
        ),
    )
    await pricelists.publish(session, actor, standard.id)
    core = await pricelists.create_price_list(
        session,
        actor,
        PriceListCreate(
            code="CORE-2026",
            name="2026 核心经销商价",
            scope=Scope.TIER,
            scope_key="core",
            priority=10,
            items=[
                _item(item, core=True) for item in ITEMS if item.product in CORE_DISCOUNT_CATEGORIES
            ],
        ),
    )
    await pricelists.publish(session, actor, core.id)


def opening_stock(warehouse: str, share: float, item: Item, rng: random.Random) -> int:
    """Two to five weeks of this warehouse's share of the SKU's sales, in cases."""
    if (warehouse, item.code) in SHORTAGES:
        return SHORTAGES[warehouse, item.code]
    cases = item.monthly * share * rng.uniform(2.0, 5.0) / WEEKS_PER_MONTH
    return max(6, int(round(cases, -1) if cases >= 100 else round(cases)))


async def insert_stock(
    session: AsyncSession, actor: Principal, skus: dict[str, uuid.UUID], rng: random.Random
) -> None:
    """Which regions each warehouse serves, and its opening stock."""
    ids = await warehouse_ids_by_code(session, [code for code, *_ in WAREHOUSES])
    for code, _name, _region, _address, share in WAREHOUSES:
        regions = [WarehouseRegionIn(region_code=r) for r in WAREHOUSE_COVERAGE[code]]
        await set_warehouse_regions(session, actor, ids[code], WarehouseRegionsIn(regions=regions))
        for item in ITEMS:
            cases = opening_stock(code, share, item, rng)
            if cases:
                await receive_stock(
                    session,
                    ids[code],
                    skus[item.code],
                    cases,
                    reference="demo-opening",
                    reason="期初库存",
                    actor_id=actor.user_id,
                )


async def insert_funds(
    session: AsyncSession, actor: Principal, dealers: dict[str, uuid.UUID], rng: random.Random
) -> None:
    """Prepaid deposits, credit limits (not for the watch tier) and last quarter's rebate."""
    for code, _name, tier, _regions, _contact in DEALERS:
        dealer_id = dealers[code]
        deposit = TopUpIn(
            account="prepaid",
            amount=rng.randrange(50_000_00, 300_000_00, 100_00),
            reason="期初预存款",
            idempotency_key=f"demo-prepaid-{code}",
        )
        await top_up(session, actor, dealer_id, deposit)
        if tier != "watch":
            await set_credit_limit(session, actor, dealer_id, 200_000_00, "期初信用额度")
        rebate = TopUpIn(
            account="rebate",
            amount=rng.randrange(1_000_00, 8_000_00, 100),
            reason="上季度返利",
            idempotency_key=f"demo-rebate-{code}",
        )
        await top_up(session, actor, dealer_id, rebate)
