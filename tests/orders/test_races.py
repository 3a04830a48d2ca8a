"""Concurrent duplicates of one order id create one order (PostgreSQL, real commits)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from server.accounts import dealer_balances, ledger_faults
from server.db.base import utcnow
from server.db.engine import Database
from server.db.scoping import scope_to_dealer
from server.db.session import transaction
from server.errors import ChannelhubError
from server.identity.principal import Principal
from server.inventory.models import StockLevel
from server.orders.models import Order
from server.orders.schemas import OrderCreate, OrderLineIn
from server.orders.service import place_order
from server.pricelists.loading import PricingCache
from server.settings import Settings
from tests.orders.conftest import make_shop


async def test_concurrent_duplicates_create_one_order(
    backend: str, settings: Settings, db: Database
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): no race to test")
    shop = await make_shop(db, settings)
    actor = Principal(user_id=shop.user.id, role=shop.user.role, dealer_id=shop.dealer.id)
    cache = PricingCache()
    body = OrderCreate(
        id=uuid.uuid4(),
        lines=[OrderLineIn(sku="W-550", qty=10), OrderLineIn(sku="TEA", qty=2)],
    )
    databases = [Database(settings.database) for _ in range(8)]

    async def attempt(database: Database) -> tuple[uuid.UUID, bool] | str:
        try:
            async with transaction(database) as s:
                scope_to_dealer(s, shop.dealer.id)
                placed = await place_order(s, cache, actor, body, currency="CNY", now=utcnow())
                return placed.order.id, placed.created
        except ChannelhubError as exc:
            return exc.code

    try:
        outcomes = await asyncio.gather(*(attempt(d) for d in databases))
    finally:
        for d in databases:
            await d.dispose()
        await cache.aclose()
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
