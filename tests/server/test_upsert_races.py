"""Concurrent first writes of a per-row setting: no 5xx, one row (PostgreSQL, real commits).

Each route below writes a row that may not exist yet (or replaces a row's children). Eight
PUTs go through the app at once, served by uvicorn in this event loop (Litestar's test client
would run them one after another); the app's pool gives each its own connection and each
request commits, so they really race. Before the fix, read-then-insert let two of them insert
the same key: a unique violation answered 500 (or 409 for the quote thresholds).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select

from server.db.engine import Database
from server.dealers.models import DealerRegion
from server.identity.models import Role
from server.inventory.models import SkuSafetyStock, WarehouseRegion, WarehouseStockPolicy
from server.orders.models import OrderSettings
from server.quotes.models import QuoteThreshold
from server.settings import Settings
from tests.factories import (
    bearer,
    make_dealer,
    make_regions,
    make_sku,
    make_tiers,
    make_user,
    make_warehouse,
)
from tests.sync.conftest import LiveServer

RACERS = 8


@pytest.fixture(autouse=True)
def _postgresql_only(backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): no race to test")


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app served for real, so that concurrent requests run concurrently."""
    async with LiveServer(app) as server, httpx.AsyncClient(base_url=server.url, timeout=60) as c:
        yield c


async def race(
    client: httpx.AsyncClient, url: str, bodies: list[Any], headers: dict[str, str]
) -> list[int]:
    answers = await asyncio.gather(*(client.put(url, json=b, headers=headers) for b in bodies))
    statuses = [a.status_code for a in answers]
    assert all(s < 500 for s in statuses), [a.text[:300] for a in answers]
    assert statuses == [200] * len(bodies), [a.text[:300] for a in answers]
    return statuses


async def count(db: Database, column: Any, *where: Any) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count(column)).where(*where)) or 0)


async def test_warehouse_policy(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    await make_regions(db)
    warehouse = await make_warehouse(db)
    h = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    bodies = [{"safetyStock": n, "priority": 10 + n} for n in range(RACERS)]
    await race(client, f"/hq/inventory/warehouses/{warehouse.id}/policy", bodies, h)
    assert await count(db, WarehouseStockPolicy.warehouse_id) == 1
    async with db.session() as s:
        row = await s.get(WarehouseStockPolicy, warehouse.id)
    assert row is not None and (row.safety_stock, row.priority - 10) in [(n, n) for n in range(8)]
    # A later write still replaces the setting.
    await race(client, f"/hq/inventory/warehouses/{warehouse.id}/policy", [{"safetyStock": 99}], h)
    answer = await client.get(f"/hq/inventory/warehouses/{warehouse.id}/policy", headers=h)
    assert (answer.json()["safetyStock"], answer.json()["priority"]) == (99, 100)


async def test_sku_safety_stock(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    sku = await make_sku(db)
    h = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    url = f"/hq/inventory/skus/{sku.id}/safety-stock"
    await race(client, url, [{"quantity": n} for n in range(1, RACERS + 1)], h)
    assert await count(db, SkuSafetyStock.sku_id) == 1
    # Concurrent removals (and a removal of nothing) are fine too.
    await race(client, url, [{"quantity": None}] * 4, h)
    assert await count(db, SkuSafetyStock.sku_id) == 0


async def test_quote_threshold(client: httpx.AsyncClient, db: Database, settings: Settings) -> None:
    await make_tiers(db)
    h = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    bodies = [{"lineDiscountBp": 100 + n, "quoteDiscountBp": 200 + n} for n in range(RACERS)]
    await race(client, "/hq/quote-thresholds/core", bodies, h)
    assert await count(db, QuoteThreshold.tier_code) == 1
    async with db.session() as s:
        row = await s.get(QuoteThreshold, "core")
    assert row is not None and row.quote_discount_bp - row.line_discount_bp == 100


async def test_order_approval_threshold(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    h = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    bodies = [{"approvalThreshold": 10_000 * n} for n in range(1, RACERS + 1)]
    await race(client, "/hq/order-settings/approval-threshold", bodies, h)
    assert await count(db, OrderSettings.id) == 1


async def test_warehouse_regions_replaced_whole(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    await make_regions(db)
    warehouse = await make_warehouse(db)
    h = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    sets = [["330000", "330100"], ["440000"], ["330100", "440100"], ["330106"]] * 2
    bodies = [{"regions": [{"regionCode": c, "priority": 1} for c in codes]} for codes in sets]
    await race(client, f"/hq/inventory/warehouses/{warehouse.id}/regions", bodies, h)
    async with db.session() as s:
        codes = sorted(
            (
                await s.execute(
                    select(WarehouseRegion.region_code).where(
                        WarehouseRegion.warehouse_id == warehouse.id
                    )
                )
            ).scalars()
        )
    assert codes in [sorted(c) for c in sets]  # one request's set, whole; never a mixture


async def test_dealer_regions_replaced_whole(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    await make_regions(db)
    dealer = await make_dealer(db, regions=("330000",))
    h = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    sets = [["330100"], ["440000", "440100"], ["330106", "330100"], ["440100"]] * 2
    await race(client, f"/hq/dealers/{dealer.id}", [{"regionCodes": c} for c in sets], h)
    async with db.session() as s:
        codes = sorted(
            (
                await s.execute(
                    select(DealerRegion.region_code).where(DealerRegion.dealer_id == dealer.id)
                )
            ).scalars()
        )
    assert codes in [sorted(c) for c in sets]
