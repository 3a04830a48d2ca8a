"""Orders consume their promotions' budgets at placement and give them back once on
cancel or reject; an exhausted budget refuses the order and keeps nothing of it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event, func, select

from server.accounts import dealer_balances
from server.db.base import utcnow
from server.db.engine import Database
from server.db.scoping import scope_to_dealer
from server.db.session import transaction
from server.errors import ChannelhubError, Conflict
from server.identity.models import Role
from server.identity.principal import Principal
from server.inventory.models import StockLevel
from server.orders.models import Order, OrderStatus
from server.orders.schemas import OrderCreate, OrderLineIn
from server.orders.service import place_order
from server.orders.transitions import transition
from server.pricelists.cart import price_for_dealer
from server.pricelists.loading import PricingCache
from server.pricing import CartLine
from server.promotions import BudgetExhausted, release_order_budgets
from server.promotions.models import BudgetConsumption, Promotion, PromotionBudget
from server.promotions.schemas import BudgetIn, EligibilityIn, Mechanic, PromotionIn
from server.promotions.service import archive_promotion, create_promotion, publish_promotion
from server.settings import Settings
from tests.orders.conftest import Shop, make_shop

HQ = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
DISCOUNT = 200  # 20 fen off each of 10 units of W-550 (list 100)


async def publish_amount_off(db: Database, code: str, budget: BudgetIn) -> Promotion:
    body = PromotionIn(
        code=code,
        name=code,
        mechanic=msgspec.convert({"kind": "amount_off", "amountOff": 20}, Mechanic),
        eligibility=EligibilityIn(skus=["W-550"]),
        budget=budget,
    )
    async with transaction(db) as s:
        p = await create_promotion(s, HQ, body, "Asia/Shanghai")
        await publish_promotion(s, HQ, p.id)
    return p


def dealer_of(shop: Shop) -> Principal:
    return Principal(user_id=shop.user.id, role=shop.user.role, dealer_id=shop.dealer.id)


async def place(db: Database, cache: PricingCache, shop: Shop, qty: int = 10) -> Order:
    body = OrderCreate(id=uuid.uuid4(), lines=[OrderLineIn(sku="W-550", qty=qty)])
    async with transaction(db) as s:
        scope_to_dealer(s, shop.dealer.id)
        placed = await place_order(s, cache, dealer_of(shop), body, currency="CNY", now=utcnow())
    return placed.order


async def used(db: Database, p: Promotion) -> tuple[int, int]:
    async with db.session() as s:
        row = (
            await s.execute(
                select(PromotionBudget.used_amount, PromotionBudget.used_count).where(
                    PromotionBudget.promotion_id == p.id, PromotionBudget.dealer_key == ""
                )
            )
        ).one_or_none()
    return (0, 0) if row is None else (row[0], row[1])


async def test_an_order_consumes_the_budget_and_cancel_or_reject_give_it_back_once(
    db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings)
    p = await publish_amount_off(db, "AMT", BudgetIn(amount=10_000, count=5))
    cache = PricingCache()
    order = await place(db, cache, shop)
    assert (order.amount, order.discount) == (1_000 - DISCOUNT, DISCOUNT)
    assert await used(db, p) == (DISCOUNT, 1)

    async with transaction(db) as s:
        await transition(s, dealer_of(shop), order.id, OrderStatus.CANCELLED, utcnow())
    assert await used(db, p) == (0, 0)
    async with transaction(db) as s:
        assert await release_order_budgets(s, shop.dealer.id, order.id) == 0
    with pytest.raises(Conflict):
        async with transaction(db) as s:
            await transition(s, dealer_of(shop), order.id, OrderStatus.CANCELLED, utcnow())
    assert await used(db, p) == (0, 0)

    rejected = await place(db, cache, shop)
    other = await place(db, cache, shop)
    assert await used(db, p) == (2 * DISCOUNT, 2)
    async with transaction(db) as s:
        await transition(s, HQ, rejected.id, OrderStatus.REJECTED, utcnow(), "库存不足")
    assert await used(db, p) == (DISCOUNT, 1)  # only the rejected order's share came back
    async with db.session() as s:
        keys = (await s.execute(select(BudgetConsumption.key))).scalars().all()
    assert sorted(keys) == sorted(f"order:{o.id}:AMT" for o in (order, rejected, other))


async def test_an_exhausted_budget_refuses_the_order_and_keeps_nothing(
    db: Database, settings: Settings, client: AsyncTestClient[Litestar]
) -> None:
    shop = await make_shop(db, settings)
    p = await publish_amount_off(db, "ONCE", BudgetIn(count=1))
    first = await place(db, PricingCache(), shop)
    async with db.session() as s:
        held = (await dealer_balances(s, shop.dealer.id)).held
    body = {"id": str(uuid.uuid4()), "lines": [{"sku": "W-550", "qty": 10}]}
    refused = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert (problem["code"], problem["promotion"], problem["scope"]) == (
        "budget_exhausted",
        "ONCE",
        "promotion",
    )
    assert await used(db, p) == (DISCOUNT, 1)
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Order)) == 1
        assert await s.get(Order, uuid.UUID(body["id"])) is None
        assert await s.scalar(select(func.sum(StockLevel.reserved))) == 10
        assert (await dealer_balances(s, shop.dealer.id)).held == held == first.amount


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", note)


def touches_promotions(sql: list[str]) -> list[str]:
    return [q for q in sql if "promotion" in q or "budget_consumptions" in q]


async def test_no_budget_no_statement(db: Database, settings: Settings) -> None:
    shop = await make_shop(db, settings)
    free = await publish_amount_off(db, "FREE", BudgetIn())
    cache = PricingCache()
    async with db.session() as s:  # warm the cache, as any earlier cart would
        await price_for_dealer(
            s,
            cache,
            shop.dealer.id,
            currency="CNY",
            now=utcnow(),
            lines=[CartLine(sku="TEA", qty=1)],
        )
    with statements(db) as sql:
        order = await place(db, cache, shop)
    assert order.discount == DISCOUNT  # the promotion applied ...
    assert sql and touches_promotions(sql) == []  # ... and cost no statement
    assert await used(db, free) == (0, 0)

    # The same order against a budgeted promotion does consume (the probe sees it).
    async with transaction(db) as s:
        await archive_promotion(s, HQ, free.id)
    capped = await publish_amount_off(db, "CAPPED", BudgetIn(count=100))
    with statements(db) as sql:
        await place(db, cache, shop)
    assert any("promotion_budgets" in q for q in sql)
    assert await used(db, capped) == (DISCOUNT, 1)


@pytest.mark.parametrize(
    ("budget", "fits"),
    [(BudgetIn(count=30), 30), (BudgetIn(amount=30 * DISCOUNT - 1), 29)],
    ids=["count", "amount"],
)
async def test_200_concurrent_orders_never_overrun_a_budget(
    db: Database, settings: Settings, backend: str, budget: BudgetIn, fits: int
) -> None:
    if backend == "sqlite":
        pytest.skip("a concurrency property of PostgreSQL (SQLite has one writer)")
    shops = [await make_shop(db, settings, stock=5_000)]
    shops += [await make_shop(db, settings, with_world=False) for _ in range(3)]
    p = await publish_amount_off(db, "RACE", budget)
    cache = PricingCache()

    async def attempt(n: int) -> str:
        try:
            await place(db, cache, shops[n % len(shops)])
        except ChannelhubError as exc:
            return exc.code
        return "placed"

    try:
        outcomes = await asyncio.gather(*(attempt(n) for n in range(200)))
    finally:
        await cache.aclose()
    assert sorted(set(outcomes)) == ["budget_exhausted", "placed"], outcomes
    assert outcomes.count("placed") == fits
    assert await used(db, p) == (fits * DISCOUNT, fits)
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Order)) == fits
        assert await s.scalar(select(func.sum(StockLevel.reserved))) == 10 * fits
        consumed = (await s.execute(select(BudgetConsumption.amount))).scalars().all()
    assert (sum(consumed), len(consumed)) == (fits * DISCOUNT, fits)
    with pytest.raises(BudgetExhausted):  # and the very next one is refused too
        await place(db, cache, shops[0])


async def test_an_order_from_a_quote_consumes_the_quoted_promotions_budget(
    db: Database, settings: Settings, client: AsyncTestClient[Litestar]
) -> None:
    shop = await make_shop(db, settings)
    p = await publish_amount_off(db, "QUOTED", BudgetIn(count=3))
    quoted = await client.post(
        "/mp/quotes", json={"lines": [{"sku": "W-550", "qty": 10}]}, headers=shop.headers
    )
    assert quoted.status_code == 201, quoted.text
    assert await used(db, p) == (0, 0)  # a quote takes nothing
    body = {"id": str(uuid.uuid4()), "quoteId": quoted.json()["id"]}
    placed = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert placed.status_code == 201, placed.text
    assert placed.json()["amount"] == 1_000 - DISCOUNT
    assert await used(db, p) == (DISCOUNT, 1)
