"""Concurrent duplicates of one order id create one order (PostgreSQL, real commits)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from server.accounts import dealer_balances, ledger_faults
from server.accounts.models import EntryKind, JournalEntry
from server.db import fast
from server.db.base import utcnow
from server.db.engine import Database
from server.db.scoping import scope_to_dealer
from server.db.session import transaction
from server.errors import ChannelhubError
from server.inventory import receive_stock
from server.inventory.models import StockLevel, StockMovement, WarehouseStockPolicy
from server.orders.models import Order, OrderEvent
from server.orders.schemas import OrderCreate, OrderLineIn
from server.orders.service import ORDER_ID_LOCKS, Placement, place_order, stock_reference
from server.pricelists.loading import PricingCache
from server.settings import Settings
from tests.factories import make_warehouse
from tests.orders.conftest import Shop, make_shop, placing_database


async def _place(
    database: Database, shop: Shop, cache: PricingCache, body: OrderCreate
) -> Placement | str:
    """Place ``body`` as the shop in a transaction of its own: the placement, or the error code."""
    try:
        async with transaction(database) as s:
            scope_to_dealer(s, shop.dealer.id)
            return await place_order(s, cache, shop.actor, body, currency="CNY", now=utcnow())
    except ChannelhubError as exc:
        return exc.code


async def test_concurrent_duplicates_create_one_order(
    backend: str, settings: Settings, db: Database
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): no race to test")
    shop = await make_shop(db, settings)
    cache = PricingCache()
    body = OrderCreate(
        id=uuid.uuid4(),
        lines=[OrderLineIn(sku="W-550", qty=10), OrderLineIn(sku="TEA", qty=2)],
    )
    databases = [placing_database(settings) for _ in range(8)]
    try:
        placed = await asyncio.gather(*(_place(d, shop, cache, body) for d in databases))
    finally:
        for d in databases:
            await d.dispose()
        await cache.aclose()
    outcomes = [p if isinstance(p, str) else (p.order.id, p.created) for p in placed]
    created = [o for o in outcomes if isinstance(o, tuple) and o[1]]
    replays = [o for o in outcomes if isinstance(o, tuple) and not o[1]]
    assert len(created) == 1, outcomes
    assert all(o == (body.id, False) for o in replays)
    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Order)) == 1
        assert await s.scalar(select(func.sum(StockLevel.reserved))) == 12
        assert (await dealer_balances(s, shop.dealer.id)).held == 1000 + 2 * 399
        assert await ledger_faults(s) == []
        # Effects, counted: one hold entry, one reservation movement per SKU, one trail.
        holds = select(func.count()).select_from(JournalEntry)
        assert await s.scalar(holds.where(JournalEntry.kind == EntryKind.HOLD)) == 1
        movements = select(func.count()).select_from(StockMovement)
        reserved = movements.where(StockMovement.reference == stock_reference(body.id))
        assert await s.scalar(reserved) == 2
        events = select(OrderEvent.seq).order_by(OrderEvent.seq)
        seqs = list((await s.scalars(events)).all())
        assert seqs and seqs == list(range(1, len(seqs) + 1))  # one trail, not one per twin


_CLAIM = text("SELECT claim_order_id(:ns, :key, :id)")


def _claim(order_id: uuid.UUID) -> dict[str, object]:
    return {"ns": ORDER_ID_LOCKS, "key": fast.lock_key(order_id), "id": order_id}


async def test_a_twin_that_waited_sees_the_committed_order(
    backend: str, settings: Settings, db: Database
) -> None:
    """The claim's existence check runs after its lock wait, on a fresh snapshot."""
    if backend == "sqlite":
        pytest.skip("SQLite takes no claims (BEGIN IMMEDIATE serializes its writers)")
    shop = await make_shop(db, settings)
    cache = PricingCache()
    body = OrderCreate(id=uuid.uuid4(), lines=[OrderLineIn(sku="W-550", qty=10)])
    other = placing_database(settings)

    async def twin() -> bool:
        async with other.session() as s:
            return bool(await s.scalar(_CLAIM, _claim(body.id)))

    try:
        async with transaction(db) as holder:
            scope_to_dealer(holder, shop.dealer.id)
            assert await holder.scalar(_CLAIM, _claim(body.id)) is False
            waiting = asyncio.create_task(twin())
            await asyncio.sleep(0.3)
            assert not waiting.done()  # queued on the claim's lock
            placed = await place_order(
                holder, cache, shop.actor, body, currency="CNY", now=utcnow()
            )
            assert placed.created
        assert await asyncio.wait_for(waiting, 10) is True  # committed while it waited
    finally:
        await other.dispose()
        await cache.aclose()


async def test_claims_of_ids_sharing_a_prefix_do_not_wait(backend: str, db: Database) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite takes no claims (BEGIN IMMEDIATE serializes its writers)")
    # Two UUIDv7 ids of one millisecond: the same leading 8 bytes, different random tails.
    first = uuid.UUID("01936b2a-7c00-7000-8000-00000000a001")
    second = uuid.UUID("01936b2a-7c00-7000-8000-00000000b002")
    async with db.session() as holder, db.session() as other:
        assert await holder.scalar(_CLAIM, _claim(first)) is False
        await other.execute(text("SET LOCAL lock_timeout = '300ms'"))
        assert await other.scalar(_CLAIM, _claim(second)) is False  # no wait
        with pytest.raises(DBAPIError, match="lock timeout"):
            await other.scalar(_CLAIM, _claim(first))  # the held id waits, then times out
        await other.rollback()
        await holder.rollback()


async def test_orders_that_lost_the_preferred_stock_take_the_next_warehouse(
    backend: str, settings: Settings, db: Database
) -> None:
    """Orders allocate from availability read without locks; one whose preferred stock is
    taken meanwhile is refused by the stock move, then allocates again on a fresh read."""
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): no race to test")
    shop = await make_shop(db, settings, stock=100)  # 杭州 (HZ-01)
    preferred = await make_warehouse(db, region="330000", code="ZJ-01")
    sku = shop.skus["W-550"]
    async with transaction(db) as s:
        await receive_stock(s, preferred.id, sku, 5)
        s.add(WarehouseStockPolicy(warehouse_id=preferred.id, safety_stock=0, priority=10))
    cache = PricingCache()
    databases = [placing_database(settings) for _ in range(6)]
    start = asyncio.Event()

    async def one(database: Database) -> str:
        body = OrderCreate(id=uuid.uuid4(), lines=[OrderLineIn(sku="W-550", qty=5)])
        await start.wait()
        placed = await _place(database, shop, cache, body)
        return placed if isinstance(placed, str) else "placed"

    tasks = [asyncio.create_task(one(d)) for d in databases]
    try:
        await asyncio.sleep(0.05)
        start.set()
        outcomes = await asyncio.gather(*tasks)
    finally:
        for d in databases:
            await d.dispose()
        await cache.aclose()
    assert outcomes == ["placed"] * 6
    async with db.session() as s:
        levels = {
            lv.warehouse_id: lv.reserved
            for lv in (
                await s.execute(select(StockLevel).where(StockLevel.sku_id == sku))
            ).scalars()
        }
    assert levels == {preferred.id: 5, shop.warehouse_id: 25}
