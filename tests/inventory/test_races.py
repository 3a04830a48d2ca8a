"""Stock races on real PostgreSQL: separate sessions that commit for real, started together.

On SQLite write transactions are serial (BEGIN IMMEDIATE), so there is no race to test there.
"""

from __future__ import annotations

import asyncio
import random
import uuid

import pytest
from sqlalchemy import select

from server.db.engine import Database
from server.db.session import transaction
from server.errors import Conflict
from server.identity.models import Role
from server.identity.principal import Principal
from server.inventory import StockLine, level_drift, receive_stock, reserve_stock
from server.inventory.feed import apply_stock_feed
from server.inventory.models import StockMovement
from server.inventory.schemas import FeedItem, StockFeedIn
from server.inventory.stock import read_level
from server.settings import DatabaseSettings, Settings
from tests.factories import make_regions, make_sku, make_warehouse


def pooled(settings: Settings) -> Database:
    return Database(DatabaseSettings(url=settings.database.url, pool_size=10))


async def test_200_concurrent_reservations_for_the_last_50_units(
    backend: str, settings: Settings, db: Database
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): no race to test")
    await make_regions(db)
    wh, sku = await make_warehouse(db), await make_sku(db)
    async with transaction(db) as s:
        await receive_stock(s, wh.id, sku.id, 50)
    database = pooled(settings)
    start = asyncio.Event()

    async def one(n: int) -> bool:
        await start.wait()
        try:
            async with transaction(database) as s:
                await reserve_stock(
                    s, f"SO-{n}", [StockLine(warehouse_id=wh.id, sku_id=sku.id, quantity=1)]
                )
        except Conflict as exc:
            assert exc.code == "stock_insufficient"
            return False
        return True

    tasks = [asyncio.create_task(one(n)) for n in range(200)]
    await asyncio.sleep(0.05)
    start.set()
    outcomes = await asyncio.gather(*tasks)
    await database.dispose()
    assert sum(outcomes) == 50
    async with db.session() as s:
        level = await read_level(s, wh.id, sku.id)
        assert level is not None and (level.on_hand, level.reserved) == (50, 50)
        reservations = (
            (await s.execute(select(StockMovement).where(StockMovement.reserved_delta > 0)))
            .scalars()
            .all()
        )
        assert len(reservations) == 50
        assert await level_drift(s) == []


async def test_feeds_and_reservations_over_the_same_rows_do_not_deadlock(
    backend: str, settings: Settings, db: Database
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): no race to test")
    await make_regions(db)
    wh = await make_warehouse(db, code="RACE-WH")
    a, b = await make_sku(db, code="RACE-A"), await make_sku(db, code="RACE-B")
    async with transaction(db) as s:
        await receive_stock(s, wh.id, a.id, 1_000)
        await receive_stock(s, wh.id, b.id, 1_000)
    hq = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
    database = pooled(settings)
    start = asyncio.Event()

    async def reserve(n: int) -> None:
        await start.wait()
        async with transaction(database) as s:
            lines = [StockLine(warehouse_id=wh.id, sku_id=sku.id, quantity=1) for sku in (b, a)]
            await reserve_stock(s, f"SO-{n}", lines)

    async def feed(n: int) -> None:
        await start.wait()
        items = [
            FeedItem(warehouse_code="RACE-WH", sku_code=code, mode="adjust", quantity=1)
            for code in ("RACE-B", "RACE-A")
        ]
        async with transaction(database) as s:
            await apply_stock_feed(s, hq, StockFeedIn(batch_id=f"race-{n}", items=items))

    tasks = [asyncio.create_task(reserve(n) if n % 2 else feed(n)) for n in range(40)]
    await asyncio.sleep(0.05)
    start.set()
    await asyncio.gather(*tasks)
    await database.dispose()
    async with db.session(write=False) as s:
        for sku in (a, b):
            level = await read_level(s, wh.id, sku.id)
            assert level is not None and (level.on_hand, level.reserved) == (1_020, 20)
        assert await level_drift(s) == []


async def test_concurrent_replays_of_one_feed_batch_apply_it_once(
    backend: str, settings: Settings, db: Database
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): no race to test")
    await make_regions(db)
    wh = await make_warehouse(db, code="TWIN-WH")
    sku = await make_sku(db, code="TWIN-A")
    hq = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
    body = StockFeedIn(
        batch_id="twin-1",
        items=[FeedItem(warehouse_code="TWIN-WH", sku_code="TWIN-A", mode="adjust", quantity=7)],
    )
    database = pooled(settings)
    start = asyncio.Event()

    async def send() -> bool:
        await start.wait()
        async with transaction(database) as s:
            return (await apply_stock_feed(s, hq, body)).replayed

    tasks = [asyncio.create_task(send()) for _ in range(10)]
    await asyncio.sleep(0.05)
    start.set()
    replayed = await asyncio.gather(*tasks)
    await database.dispose()
    assert sorted(replayed) == [False] + [True] * 9
    async with db.session(write=False) as s:
        level = await read_level(s, wh.id, sku.id)
        assert level is not None and level.on_hand == 7


async def test_concurrent_retries_of_one_reservation_reserve_once(
    backend: str, settings: Settings, db: Database
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): no race to test")
    await make_regions(db)
    wh, sku = await make_warehouse(db), await make_sku(db)
    async with transaction(db) as s:
        await receive_stock(s, wh.id, sku.id, 100)
    database = pooled(settings)
    start = asyncio.Event()

    async def send() -> uuid.UUID:
        await start.wait()
        async with transaction(database) as s:
            line = StockLine(warehouse_id=wh.id, sku_id=sku.id, quantity=3)
            return (await reserve_stock(s, "SO-TWIN", [line])).id

    tasks = [asyncio.create_task(send()) for _ in range(10)]
    await asyncio.sleep(0.05)
    start.set()
    ids = await asyncio.gather(*tasks)
    await database.dispose()
    assert len(set(ids)) == 1
    async with db.session(write=False) as s:
        level = await read_level(s, wh.id, sku.id)
        assert level is not None and level.reserved == 3
        assert await level_drift(s) == []


async def test_many_line_reservations_over_overlapping_skus_never_deadlock_or_oversell(
    backend: str, settings: Settings, db: Database
) -> None:
    """Multi-line reservations lock rows in one order (PostgreSQL: ordered lock, then one
    UPDATE ... FROM unnest); short ones move nothing back out of order either."""
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): no race to test")
    await make_regions(db)
    wh = await make_warehouse(db, code="MANY-WH")
    skus = [await make_sku(db, code=f"MANY-{n}") for n in range(4)]
    async with transaction(db) as s:
        for sku in skus:
            await receive_stock(s, wh.id, sku.id, 30)
    rng = random.Random(7)
    orders = [
        [(sku, rng.randint(1, 3)) for sku in rng.sample(skus, 3)]  # random line order
        for _ in range(80)
    ]
    database = pooled(settings)
    start = asyncio.Event()

    async def one(n: int) -> bool:
        await start.wait()
        lines = [StockLine(warehouse_id=wh.id, sku_id=sku.id, quantity=q) for sku, q in orders[n]]
        try:
            async with transaction(database) as s:
                await reserve_stock(s, f"MANY-{n}", lines)
        except Conflict as exc:
            assert exc.code == "stock_insufficient"
            return False
        return True

    tasks = [asyncio.create_task(one(n)) for n in range(len(orders))]
    await asyncio.sleep(0.05)
    start.set()
    placed = await asyncio.gather(*tasks)
    await database.dispose()
    assert any(placed) and not all(placed)  # the stock ran out part-way
    async with db.session(write=False) as s:
        for sku in skus:
            wanted = sum(
                q
                for ok, lines in zip(placed, orders, strict=True)
                if ok
                for x, q in lines
                if x.id == sku.id
            )
            level = await read_level(s, wh.id, sku.id)
            assert level is not None and (level.on_hand, level.reserved) == (30, wanted)
        assert await level_drift(s) == []
