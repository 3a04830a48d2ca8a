"""Rebates that can be spent (返利抵扣): HQ's tier caps, the dealer's choice, the cart's settlement,
and the money: held at placing (rebate first, up to the cap), captured at shipment in
proportion, released on cancel; bad input changes nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from server.accounts import dealer_balances, ledger_faults
from server.accounts.funds import top_up
from server.accounts.models import FundsHold
from server.accounts.schemas import TopUpIn
from server.catalog.models import Category, Product, Sku
from server.db.base import utcnow
from server.db.engine import Database
from server.db.scoping import scope_to_dealer
from server.db.session import transaction
from server.errors import ChannelhubError
from server.inventory.models import StockLevel
from server.orders.models import Order
from server.orders.schemas import OrderCreate, OrderLineIn
from server.orders.service import Placement, place_order
from server.pricelists.loading import PricingCache
from server.promotions.schemas import EligibilityIn, Mechanic, PromotionIn
from server.promotions.service import create_promotion, publish_promotion
from server.settings import Settings
from sync.tables import sync_change
from tests.orders.conftest import HQ, Shop, make_shop, placing_database
from tests.orders.test_mutations import create, push

Client = AsyncTestClient[Litestar]
CART = [{"sku": "W-550", "qty": 10}, {"sku": "W-1L", "qty": 4}]  # 1000 + 1000 fen
REBATE = 5_000
PREPAID = 1_000_000


async def grant_rebate(db: Database, shop: Shop, amount: int = REBATE) -> None:
    async with transaction(db) as s:
        await top_up(
            s,
            HQ,
            shop.dealer.id,
            TopUpIn(
                account="rebate", amount=amount, reason="返利", idempotency_key=str(uuid.uuid4())
            ),
        )


async def set_terms(client: Client, shop: Shop, **terms: Any) -> dict[str, Any]:
    answer = await client.put(f"/hq/tiers/{shop.dealer.tier_code}", json=terms, headers=shop.hq)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def rebate_shop(
    client: Client, db: Database, settings: Settings, cap_bp: int = 1_000, **terms: Any
) -> Shop:
    shop = await make_shop(db, settings)
    await grant_rebate(db, shop)
    await set_terms(client, shop, rebateCapBp=cap_bp, **terms)
    return shop


async def category_of(db: Database, sku: str) -> str:
    async with db.session() as s:
        stmt = (
            select(Category.code)
            .join(Product, Product.category_id == Category.id)
            .join(Sku, Sku.product_id == Product.id)
            .where(Sku.code == sku)
        )
        return str(await s.scalar(stmt))


async def funds(db: Database, shop: Shop) -> tuple[int, int, int]:
    """Rebate, prepaid and held balances."""
    async with db.session() as s:
        b = await dealer_balances(s, shop.dealer.id)
        return b.rebate, b.prepaid, b.held


async def hold_of(db: Database, order_id: str) -> FundsHold:
    async with db.session() as s:
        hold = await s.scalar(select(FundsHold).where(FundsHold.reference == order_id))
        assert hold is not None
        return hold


async def nothing_written(db: Database, shop: Shop) -> None:
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Order)) == 0
        assert await s.scalar(select(func.count()).select_from(FundsHold)) == 0
        assert int(await s.scalar(select(func.sum(StockLevel.reserved))) or 0) == 0
    assert await funds(db, shop) == (REBATE, PREPAID, 0)


async def place(client: Client, shop: Shop, **extra: Any) -> dict[str, Any]:
    body = {"id": str(uuid.uuid4()), "lines": CART, **extra}
    answer = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_hq_sets_a_tiers_cap_and_refuses_bad_terms_in_both_languages(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings)
    category = await category_of(db, "W-550")
    tier = await set_terms(
        client,
        shop,
        rebateCapBp=1_500,
        rebateExcludedCategories=[category, category],
        rebateExcludesPromoted=True,
    )
    assert (tier["rebateCapBp"], tier["rebateExcludedCategories"]) == (1_500, [category])
    assert tier["rebateExcludesPromoted"] is True
    url = f"/hq/tiers/{shop.dealer.tier_code}"
    for bad in (10_001, -1):
        refused = await client.put(url, json={"rebateCapBp": bad}, headers=shop.hq)
        assert (refused.status_code, refused.json()["code"]) == (422, "request_invalid")
    unknown = await client.put(
        url,
        json={"rebateCapBp": 0, "rebateExcludedCategories": ["NOPE"]},
        headers={**shop.hq, "Accept-Language": "en"},
    )
    problem = unknown.json()
    assert (unknown.status_code, problem["code"]) == (422, "category_unknown")
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert problem["title"] == "Unknown category codes"
    assert problem["errors"][0]["message"] == "unknown: NOPE"
    zh = await client.put(url, json={"rebateExcludedCategories": ["NOPE"]}, headers=shop.hq)
    assert zh.json()["title"] == "商品类别不存在"
    # Nothing of a refused update was kept.
    tiers = (await client.get("/hq/tiers", headers=shop.hq)).json()
    [mine] = [t for t in tiers if t["code"] == shop.dealer.tier_code]
    assert (mine["rebateCapBp"], mine["rebateExcludedCategories"]) == (1_500, [category])
    dealer = await client.put(
        f"/hq/dealers/{shop.dealer.id}", json={"usesRebate": False}, headers=shop.hq
    )
    assert dealer.json()["usesRebate"] is False


async def test_the_cart_shows_the_rebate_it_would_use_the_cap_and_why(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await rebate_shop(client, db, settings, cap_bp=1_000)
    priced = await client.post("/mp/cart/price", json={"lines": CART}, headers=shop.headers)
    assert priced.status_code == 200, priced.text
    settlement = priced.json()["settlement"]
    assert settlement == {
        "rebate": 200,
        "prepaid": 1_800,
        "remaining": 0,
        "rebateCap": 200,
        "rebateBasis": 2_000,
    }
    row = next(r for r in priced.json()["explanation"] if r["step"] == "settlement")
    assert row["reason"] == "capped"
    assert "¥2.00" in row["message"] and "10%" in row["message"] and "返利" in row["message"]
    assert "10% of the eligible goods amount ¥20.00" in row["messageEn"]
    declined = await client.post(
        "/mp/cart/price", json={"lines": CART, "useRebate": False}, headers=shop.headers
    )
    assert declined.json()["settlement"]["rebate"] == 0
    rows = [r for r in declined.json()["explanation"] if r["step"] == "settlement"]
    assert rows[0]["reason"] == "not_chosen"
    chosen = await client.post(
        "/mp/cart/price", json={"lines": CART, "rebateAmount": 150}, headers=shop.headers
    )
    assert chosen.json()["settlement"]["rebate"] == 150
    above = await client.post(
        "/mp/cart/price", json={"lines": CART, "rebateAmount": 201}, headers=shop.headers
    )
    assert (above.status_code, above.json()["code"], above.json()["cap"]) == (
        422,
        "rebate_above_cap",
        200,
    )


async def test_an_order_spends_rebate_up_to_the_cap_and_cancel_gives_it_back(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await rebate_shop(client, db, settings, cap_bp=1_000)
    order = await place(client, shop)
    assert (order["amount"], order["rebate"]) == (2_000, 200)
    assert await funds(db, shop) == (REBATE - 200, PREPAID - 1_800, 2_000)
    hold = await hold_of(db, order["id"])
    assert (hold.rebate, hold.prepaid, hold.credit, hold.sources) == (
        200,
        1_800,
        0,
        "rebate,prepaid,credit",
    )
    cancel = await client.post(f"/mp/orders/{order['id']}/cancel", json={}, headers=shop.headers)
    assert cancel.json()["status"] == "cancelled"
    assert await funds(db, shop) == (REBATE, PREPAID, 0)
    async with db.session() as s:
        assert await ledger_faults(s) == []


async def test_shipments_capture_rebate_in_proportion(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await rebate_shop(client, db, settings, cap_bp=1_000)
    order = await place(client, shop, lines=[{"sku": "TEA", "qty": 3}])  # 1197 fen
    assert order["rebate"] == 119  # 10 % of 1197, rounded down
    order_id = order["id"]
    await client.post(f"/hq/orders/{order_id}/allocate", headers=shop.hq)
    first = await client.post(
        f"/hq/orders/{order_id}/shipments",
        json={"carrier": "顺丰", "trackingNo": "SF001", "lines": [{"sku": "TEA", "qty": 1}]},
        headers=shop.hq,
    )
    assert first.json()["captured"] == 399
    hold = await hold_of(db, order_id)
    assert (hold.captured_rebate, hold.captured_prepaid) == (119 * 399 // 1197, 399 - 39)
    rest = await client.post(
        f"/hq/orders/{order_id}/shipments",
        json={"carrier": "顺丰", "trackingNo": "SF002"},
        headers=shop.hq,
    )
    assert rest.json()["status"] == "shipped"
    hold = await hold_of(db, order_id)
    assert (hold.captured_rebate, hold.captured_prepaid, hold.released) == (119, 1_078, 0)
    assert await funds(db, shop) == (REBATE - 119, PREPAID - 1_078, 0)
    async with db.session() as s:
        assert await ledger_faults(s) == []


async def test_excluded_categories_and_promoted_lines_reduce_the_cap(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await rebate_shop(client, db, settings, cap_bp=1_000)
    await set_terms(client, shop, rebateExcludedCategories=[await category_of(db, "W-1L")])
    order = await place(client, shop)
    assert order["rebate"] == 100  # only W-550's 1000 fen are eligible
    priced = await client.post("/mp/cart/price", json={"lines": CART}, headers=shop.headers)
    assert (priced.json()["settlement"]["rebateBasis"], priced.json()["settlement"]["rebate"]) == (
        1_000,
        100,
    )
    # A promotion on W-550 (20 fen off each) and promoted lines excluded: nothing is eligible
    # but W-1L, whose category is excluded too.
    promotion = PromotionIn(
        code="W550-OFF",
        name="W550-OFF",
        mechanic=msgspec.convert({"kind": "amount_off", "amountOff": 20}, Mechanic),
        eligibility=EligibilityIn(skus=["W-550"]),
    )
    async with transaction(db) as s:
        p = await create_promotion(s, HQ, promotion, "Asia/Shanghai")
        await publish_promotion(s, HQ, p.id)
    await set_terms(client, shop, rebateExcludesPromoted=True)
    bare = await place(client, shop)
    assert (bare["amount"], bare["rebate"]) == (1_800, 0)
    await set_terms(client, shop, rebateExcludedCategories=[])
    w1l_only = await place(client, shop)
    assert (w1l_only["amount"], w1l_only["rebate"]) == (1_800, 100)
    async with db.session() as s:
        assert await ledger_faults(s) == []


async def test_a_dealer_opting_out_spends_none_unless_the_order_says_so(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await rebate_shop(client, db, settings, cap_bp=1_000)
    await client.put(f"/hq/dealers/{shop.dealer.id}", json={"usesRebate": False}, headers=shop.hq)
    assert (await place(client, shop))["rebate"] == 0
    assert (await place(client, shop, useRebate=False))["rebate"] == 0
    assert (await place(client, shop, useRebate=True))["rebate"] == 200
    assert (await place(client, shop, rebateAmount=50))["rebate"] == 50
    assert await funds(db, shop) == (REBATE - 250, PREPAID - 4 * 2_000 + 250, 4 * 2_000)


async def test_a_replay_with_another_rebate_choice_is_an_id_conflict(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await rebate_shop(client, db, settings)
    body = {"id": str(uuid.uuid4()), "lines": CART, "useRebate": False}
    assert (await client.post("/mp/orders", json=body, headers=shop.headers)).status_code == 201
    same = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert same.status_code == 200
    for other in ({"useRebate": True}, {"useRebate": None}, {"rebateAmount": 10}):
        answer = await client.post("/mp/orders", json={**body, **other}, headers=shop.headers)
        assert (answer.status_code, answer.json()["code"]) == (409, "order_id_conflict")
    # Offline: the business key holds (the sync engine answers the stored outcome, so the
    # order keeps the choice it was placed with); without one, the content hash refuses it.
    order_id = str(uuid.uuid4())
    [applied] = await push(client, shop, create(1, order_id, CART, useRebate=True))
    assert (applied["status"], applied["detail"]["rebate"]) == ("applied", 200)
    [replayed] = await push(client, shop, create(2, order_id, CART, useRebate=False))
    assert (replayed["status"], replayed["replayed"], replayed["detail"]["rebate"]) == (
        "applied",
        True,
        200,
    )
    keyless = {**create(3, order_id, CART, useRebate=False), "businessKey": None}
    [other] = await push(client, shop, keyless)
    assert (other["status"], other["reason"]) == ("rejected", "order_id_conflict")
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Order)) == 2
    assert await funds(db, shop) == (REBATE - 200, PREPAID - 3_800, 4_000)


async def test_bad_rebate_choices_are_refused_in_both_languages_with_nothing_written(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await rebate_shop(client, db, settings, cap_bp=1_000)
    en = {**shop.headers, "Accept-Language": "en"}
    cases = [
        ({"rebateAmount": 201}, 422, "rebate_above_cap"),
        ({"rebateAmount": 10, "useRebate": False}, 422, "rebate_choice_conflict"),
        ({"rebateAmount": 0}, 422, "request_invalid"),
    ]
    for extra, status, code in cases:
        body = {"id": str(uuid.uuid4()), "lines": CART, **extra}
        answer = await client.post("/mp/orders", json=body, headers=en)
        assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    above = await client.post(
        "/mp/orders",
        json={"id": str(uuid.uuid4()), "lines": CART, "rebateAmount": 201},
        headers=shop.headers,
    )
    assert above.json()["title"] == "返利抵扣金额超过本单上限（最多 200 分）"
    await nothing_written(db, shop)
    # More rebate than the account holds: 409, nothing held, nothing reserved.
    await set_terms(client, shop, rebateCapBp=10_000)
    short = await client.post(
        "/mp/orders",
        json={"id": str(uuid.uuid4()), "lines": CART, "rebateAmount": REBATE + 1},
        headers=en,
    )
    assert (short.status_code, short.json()["code"]) == (422, "rebate_above_cap")
    many = [{"sku": "W-550", "qty": 100}]  # 10000 fen: the cap (100 %) is above the balance
    short = await client.post(
        "/mp/orders",
        json={"id": str(uuid.uuid4()), "lines": many, "rebateAmount": REBATE + 1},
        headers=en,
    )
    assert (short.status_code, short.json()["code"]) == (409, "rebate_insufficient")
    assert short.json()["title"] == "The rebate balance does not cover the rebate chosen"
    await nothing_written(db, shop)
    # A tier without rebate: asking for it is refused; not asking places without it.
    await set_terms(client, shop, rebateCapBp=0)
    refused = await client.post(
        "/mp/orders", json={"id": str(uuid.uuid4()), "lines": CART, "useRebate": True}, headers=en
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "rebate_not_allowed")
    assert refused.json()["title"] == "Orders of this dealer's tier cannot be paid with rebate"
    [rejected] = await push(client, shop, create(1, str(uuid.uuid4()), CART, rebateAmount=10))
    assert (rejected["status"], rejected["reason"]) == ("rejected", "rebate_not_allowed")
    await nothing_written(db, shop)
    assert (await place(client, shop))["rebate"] == 0


async def test_balances_say_what_is_spendable_for_what(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await rebate_shop(client, db, settings, cap_bp=1_000)
    await set_terms(client, shop, rebateExcludesPromoted=True)
    mine = (await client.get("/mp/accounts", headers=shop.headers)).json()
    assert (mine["available"], mine["rebate"], mine["rebateAvailable"]) == (
        PREPAID,
        REBATE,
        REBATE,
    )
    assert (mine["rebateCapBp"], mine["rebateExcludesPromoted"], mine["usesRebate"]) == (
        1_000,
        True,
        True,
    )
    rule = mine["rebateRule"]
    assert rule["code"] == "rebate_rule"
    assert rule["en"] == (
        "Rebate can pay up to 10% of each order's eligible goods amount; "
        "rebate cannot pay for lines a promotion touched"
    )
    assert "10%" in rule["zh"] and rule["message"] == rule["zh"]
    hq = (await client.get(f"/hq/dealers/{shop.dealer.id}/accounts", headers=shop.hq)).json()
    assert (hq["available"], hq["rebateAvailable"]) == (PREPAID, REBATE)
    # The dealer's scope carries the same view after an order (placement's noted terms).
    await place(client, shop)
    async with db.session() as s:
        rows = (
            await s.execute(
                select(sync_change.c.data)
                .where(sync_change.c.entity == "balances")
                .order_by(sync_change.c.version)
            )
        ).all()
    published = json.loads(rows[-1].data)
    assert (published["available"], published["rebateAvailable"]) == (PREPAID - 1_800, 4_800)
    assert published["rebateRule"]["en"] == rule["en"]
    assert published["rebateCapBp"] == 1_000
    await set_terms(client, shop, rebateCapBp=0)
    none = (await client.get("/mp/accounts", headers=shop.headers)).json()
    assert (none["available"], none["rebateAvailable"]) == (PREPAID - 1_800, 0)
    assert none["rebateRule"]["code"] == "rebate_not_allowed"


async def test_concurrent_orders_never_overdraw_the_rebate_account(
    backend: str, client: Client, db: Database, settings: Settings
) -> None:
    """20 orders of one dealer at once, each wanting 200 fen of rebate from 1000 (PostgreSQL,
    real commits): exactly five get it, the others are refused whole; then 20 taking what is
    left share it out exactly."""
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): no race to test")
    shop = await make_shop(db, settings)
    await grant_rebate(db, shop, 1_000)
    await set_terms(client, shop, rebateCapBp=1_000)
    cache = PricingCache()
    lines = [OrderLineIn(sku="W-550", qty=10), OrderLineIn(sku="W-1L", qty=4)]
    databases = [placing_database(settings) for _ in range(20)]
    try:
        exact = await asyncio.gather(
            *(
                _place(d, shop, cache, OrderCreate(id=uuid.uuid4(), lines=lines, rebate_amount=200))
                for d in databases
            )
        )
        codes = sorted(o if isinstance(o, str) else "placed" for o in exact)
        assert codes == ["placed"] * 5 + ["rebate_insufficient"] * 15
        assert await funds(db, shop) == (0, PREPAID - 5 * 1_800, 5 * 2_000)
        await grant_rebate(db, shop, 1_000)
        shared = await asyncio.gather(
            *(_place(d, shop, cache, OrderCreate(id=uuid.uuid4(), lines=lines)) for d in databases)
        )
    finally:
        for d in databases:
            await d.dispose()
        await cache.aclose()
    rebates = [o.order.rebate for o in shared if not isinstance(o, str)]
    assert len(rebates) == 20 and sum(rebates) == 1_000 and all(0 <= r <= 200 for r in rebates)
    async with db.session() as s:
        spent = await s.scalar(select(func.sum(Order.rebate)))
        assert spent == 2_000
        assert await ledger_faults(s) == []
    assert (await funds(db, shop))[0] == 0


async def _place(
    database: Database, shop: Shop, cache: PricingCache, body: OrderCreate
) -> Placement | str:
    try:
        async with transaction(database) as s:
            scope_to_dealer(s, shop.dealer.id)
            return await place_order(s, cache, shop.actor, body, currency="CNY", now=utcnow())
    except ChannelhubError as exc:
        return exc.code


async def test_an_order_from_a_quote_spends_rebate_on_the_quoted_amount(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await rebate_shop(client, db, settings, cap_bp=1_000, rebateExcludesPromoted=True)
    quoted = await client.post(
        "/mp/quotes",
        json={"lines": [{"sku": "W-550", "qty": 10, "requestedUnitPrice": 96}]},
        headers=shop.headers,
    )
    assert quoted.status_code == 201, quoted.text
    order = await place(client, shop, lines=[], quoteId=quoted.json()["id"])
    assert (order["amount"], order["rebate"]) == (960, 96)  # a negotiated price: no promotion
    assert await funds(db, shop) == (REBATE - 96, PREPAID - 864, 960)
