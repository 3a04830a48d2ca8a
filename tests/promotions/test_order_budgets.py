"""Orders consume their promotions' budgets at placement and give them back once on
cancel or reject. A promotion whose budget ran out is priced out of a cart order (the dealer
confirms the amendment ``promotion_ended``), carts stop offering a promotion whose whole
budget is spent (and offer it again once a cancel gives budget back), and an order from a
quote, which keeps the quote's prices, is refused."""

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
from server.audit.models import AuditEvent
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
from server.promotions import release_order_budgets
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


async def held(db: Database, shop: Shop) -> int:
    async with db.session() as s:
        return (await dealer_balances(s, shop.dealer.id)).held


async def cart_discount(db: Database, cache: PricingCache, shop: Shop) -> int:
    async with db.session() as s:
        priced, _ = await price_for_dealer(
            s,
            cache,
            shop.dealer.id,
            currency="CNY",
            now=utcnow(),
            lines=[CartLine(sku="W-550", qty=10)],
        )
    return priced.totals.discount


async def test_an_order_whose_promotion_ran_out_is_placed_without_it_for_the_dealer_to_confirm(
    db: Database, settings: Settings, client: AsyncTestClient[Litestar]
) -> None:
    shop = await make_shop(db, settings)
    # 399 fen: the first order's 200 fit and 199 are left, so the budget is not spent and
    # the cart keeps offering the promotion; the next 200 no longer fit.
    p = await publish_amount_off(db, "ALMOST", BudgetIn(amount=2 * DISCOUNT - 1))
    first = await place(db, PricingCache(), shop)
    assert first.discount == DISCOUNT
    held_before = await held(db, shop)
    lines = [{"sku": "W-550", "qty": 10}]
    cart = await client.post("/mp/cart/price", json={"lines": lines}, headers=shop.headers)
    assert cart.status_code == 200, cart.text
    assert cart.json()["totals"]["discount"] == DISCOUNT

    body = {"id": str(uuid.uuid4()), "lines": lines}
    placed = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["status"], order["amendments"]) == ("pending_confirmation", ["promotion_ended"])
    assert (order["listAmount"], order["discount"], order["amount"]) == (1_000, 0, 1_000)
    assert await used(db, p) == (DISCOUNT, 1)  # nothing taken for the second order
    async with db.session() as s:
        keys = (await s.execute(select(BudgetConsumption.key))).scalars().all()
        assert keys == [f"order:{first.id}:ALMOST"]
        assert await s.scalar(select(func.sum(StockLevel.reserved))) == 20
        trail = await s.scalar(
            select(AuditEvent.data).where(
                AuditEvent.action == "order.placed", AuditEvent.entity_id == body["id"]
            )
        )
        assert trail is not None and trail["ended_promotions"] == ["ALMOST"]  # which one ended
    assert await held(db, shop) == held_before + 1_000  # held once, at the new price

    confirmed = await client.post(f"/mp/orders/{body['id']}/confirm", headers=shop.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["status"], confirmed.json()["amount"]) == ("approved", 1_000)
    assert [e["toStatus"] for e in confirmed.json()["events"]] == [
        "submitted",
        "pending_confirmation",
        "submitted",
        "approved",
    ]
    assert await used(db, p) == (DISCOUNT, 1)
    assert await held(db, shop) == held_before + 1_000


async def test_a_dealer_past_its_caps_is_priced_without_each_used_up_promotion(
    db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings)
    other = await make_shop(db, settings, with_world=False)
    a = await publish_amount_off(db, "CAP-A", BudgetIn(dealer_count=1))
    b = await publish_amount_off(db, "CAP-B", BudgetIn(dealer_count=1))
    cache = PricingCache()
    first = await place(db, cache, shop)
    assert (first.discount, first.amendments) == (2 * DISCOUNT, [])
    # Per-dealer caps are not in the cached steps: the cart still offers both ...
    assert await cart_discount(db, cache, shop) == 2 * DISCOUNT
    # ... and placement takes out one, then the other (two retries), and places the rest.
    second = await place(db, cache, shop)
    assert (second.amount, second.discount) == (1_000, 0)
    assert (second.status, second.amendments) == (
        OrderStatus.PENDING_CONFIRMATION,
        ["promotion_ended"],
    )
    elsewhere = await place(db, cache, other)  # another dealer still gets both
    assert (elsewhere.discount, elsewhere.amendments) == (2 * DISCOUNT, [])
    assert await used(db, a) == await used(db, b) == (2 * DISCOUNT, 2)


async def test_a_queued_order_whose_promotion_ran_out_is_amended_not_rejected(
    db: Database, settings: Settings, client: AsyncTestClient[Litestar]
) -> None:
    shop = await make_shop(db, settings)
    await publish_amount_off(db, "MINE", BudgetIn(dealer_count=1))
    await place(db, PricingCache(), shop)  # the dealer's one use, taken while offline
    order_id = str(uuid.uuid4())
    mutation = {
        "mid": 1,
        "name": "order.create",
        "args": {"id": order_id, "lines": [{"sku": "W-550", "qty": 10}], "basis": 800},
        "businessKey": order_id,
    }
    pushed = await client.post(
        "/sync/push",
        json={"clientId": f"dev-{shop.dealer.code}", "mutations": [mutation]},
        headers={**shop.headers, "X-Sync-Protocol": "1"},
    )
    assert pushed.status_code == 200, pushed.text
    [result] = pushed.json()["results"]
    # The client queued it at 800 fen with the promotion: the order stands at 1000, waiting
    # for the dealer, who is told why the price rose.
    assert (result["status"], result["reason"]) == ("amended", "price_rose,promotion_ended")
    assert (result["detail"]["status"], result["detail"]["amount"]) == (
        "pending_confirmation",
        1_000,
    )


@pytest.mark.parametrize(
    "budget", [BudgetIn(count=1), BudgetIn(amount=DISCOUNT)], ids=["count", "amount"]
)
async def test_the_cart_drops_a_spent_promotion_and_offers_it_again_after_a_cancel(
    db: Database, settings: Settings, budget: BudgetIn
) -> None:
    shop = await make_shop(db, settings)
    p = await publish_amount_off(db, "ONCE", budget)
    cache = PricingCache()
    assert await cart_discount(db, cache, shop) == DISCOUNT  # the steps are cached now
    first = await place(db, cache, shop)
    assert (first.discount, first.status) == (DISCOUNT, OrderStatus.APPROVED)
    assert await used(db, p) == (DISCOUNT, 1)

    assert await cart_discount(db, cache, shop) == 0  # spent: the same cache drops it
    plain = await place(db, cache, shop)  # priced as the cart said: nothing to confirm
    assert (plain.discount, plain.amendments, plain.status) == (0, [], OrderStatus.APPROVED)

    async with transaction(db) as s:
        await transition(s, dealer_of(shop), first.id, OrderStatus.CANCELLED, utcnow())
    assert await used(db, p) == (0, 0)
    assert await cart_discount(db, cache, shop) == DISCOUNT  # offered again
    again = await place(db, cache, shop)
    assert (again.discount, again.amendments) == (DISCOUNT, [])
    assert await cart_discount(db, cache, shop) == 0


async def test_an_order_from_a_quote_whose_promotion_ran_out_is_refused_and_keeps_nothing(
    db: Database, settings: Settings, client: AsyncTestClient[Litestar]
) -> None:
    shop = await make_shop(db, settings)
    p = await publish_amount_off(db, "QUOTED", BudgetIn(count=1))
    quoted = await client.post(
        "/mp/quotes", json={"lines": [{"sku": "W-550", "qty": 10}]}, headers=shop.headers
    )
    assert quoted.status_code == 201, quoted.text
    first = await place(db, PricingCache(), shop)  # takes the only use
    assert first.discount == DISCOUNT
    held_before = await held(db, shop)
    body = {"id": str(uuid.uuid4()), "quoteId": quoted.json()["id"]}
    refused = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert (problem["code"], problem["promotion"], problem["scope"]) == (
        "budget_exhausted",
        "QUOTED",
        "promotion",
    )
    assert await used(db, p) == (DISCOUNT, 1)
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Order)) == 1
        assert await s.get(Order, uuid.UUID(body["id"])) is None
        assert await s.scalar(select(func.sum(StockLevel.reserved))) == 10
    assert await held(db, shop) == held_before == first.amount


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
    ("budget", "fits", "spent"),
    [(BudgetIn(count=30), 30, True), (BudgetIn(amount=30 * DISCOUNT - 1), 29, False)],
    ids=["count", "amount"],
)
async def test_200_concurrent_orders_never_overrun_a_budget(
    db: Database, settings: Settings, backend: str, budget: BudgetIn, fits: int, spent: bool
) -> None:
    if backend == "sqlite":
        pytest.skip("a concurrency property of PostgreSQL (SQLite has one writer)")
    shops = [await make_shop(db, settings, stock=5_000)]
    shops += [await make_shop(db, settings, with_world=False) for _ in range(3)]
    p = await publish_amount_off(db, "RACE", budget)
    cache = PricingCache()

    async def attempt(n: int) -> Order | str:
        try:
            return await place(db, cache, shops[n % len(shops)])
        except ChannelhubError as exc:
            return exc.code

    try:
        outcomes = await asyncio.gather(*(attempt(n) for n in range(200)))
        orders = [o for o in outcomes if isinstance(o, Order)]
        assert len(orders) == 200, [o for o in outcomes if not isinstance(o, Order)]
        discounted = [o for o in orders if o.discount]
        ended = [o for o in orders if "promotion_ended" in o.amendments]
        assert len(discounted) == fits
        assert all(o.discount == DISCOUNT and not o.amendments for o in discounted)
        assert all((o.discount, o.amount) == (0, 1_000) for o in orders if not o.discount)
        assert all((o.status is OrderStatus.PENDING_CONFIRMATION) == (o in ended) for o in orders)
        if spent:  # orders priced after the last use was taken no longer saw the promotion
            assert len(ended) <= 200 - fits
        else:  # 199 fen are left: every cart kept offering it, every other order found out
            assert len(ended) == 200 - fits
        assert await used(db, p) == (fits * DISCOUNT, fits)
        async with db.session() as s:
            assert await s.scalar(select(func.count()).select_from(Order)) == 200
            assert await s.scalar(select(func.sum(Order.discount))) == fits * DISCOUNT
            assert await s.scalar(select(func.sum(StockLevel.reserved))) == 10 * 200
            consumed = (await s.execute(select(BudgetConsumption.amount))).scalars().all()
        assert (sum(consumed), len(consumed)) == (fits * DISCOUNT, fits)
        # The very next order: a spent promotion is no longer priced at all; one with 199
        # fen left is still priced, and placement takes it out again.
        following = await place(db, cache, shops[0])
        assert following.discount == 0
        assert following.amendments == ([] if spent else ["promotion_ended"])
        assert await used(db, p) == (fits * DISCOUNT, fits)
    finally:
        await cache.aclose()


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
