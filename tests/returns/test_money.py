"""Refunds follow the money: per line at the price paid, per source in proportion, never
more than paid; rebate accrued on returned goods is clawed back (from the refund when spent)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import select

from server.accounts import dealer_balances, ledger_faults
from server.accounts.funds import adjust
from server.accounts.models import FundsHold
from server.accounts.schemas import AdjustmentIn
from server.db.engine import Database
from server.db.session import transaction
from server.promotions.schemas import EligibilityIn, Mechanic, PromotionIn
from server.promotions.service import create_promotion, publish_promotion
from server.settings import Settings
from tests.orders.conftest import HQ, Shop, make_shop
from tests.orders.test_rebate import grant_rebate, set_terms
from tests.returns.conftest import Client, place_and_ship, return_body


async def returned(
    client: Client, shop: Shop, order_id: uuid.UUID, lines: list[tuple[int, int]]
) -> dict[str, Any]:
    """A return requested, approved and received to sellable stock: its answer."""
    body = return_body(order_id, lines)
    created = await client.post("/mp/returns/", json=body, headers=shop.headers)
    assert created.status_code == 201, created.text
    await client.post(f"/hq/returns/{body['id']}/approve", json={}, headers=shop.hq)
    received = await client.post(
        f"/hq/returns/{body['id']}/receive", json={"disposition": "sellable"}, headers=shop.hq
    )
    assert received.status_code == 200, received.text
    return received.json()


async def test_refunds_go_back_to_each_source_in_proportion(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings, prepaid=1_500, credit=10_000)
    await grant_rebate(db, shop, 5_000)
    await set_terms(client, shop, rebateCapBp=1_000)
    # 1798 fen: rebate pays its cap (179), prepaid 1500, credit the rest (119).
    order_id = await place_and_ship(db, shop, [("W-550", 10), ("TEA", 2)])
    first = await returned(client, shop, order_id, [(0, 3)])
    parts = (first["refundRebate"], first["refundCredit"], first["refundPrepaid"])
    assert first["refund"] == 300 and parts == (179 * 300 // 1798, 119 * 300 // 1798, 252)
    rest = await returned(client, shop, order_id, [(0, 7), (1, 2)])
    assert rest["refund"] == 1498
    async with db.session() as s:
        hold = (await s.scalars(select(FundsHold))).one()
        assert (
            (hold.refunded_rebate, hold.refunded_credit, hold.refunded_prepaid)
            == (
                hold.captured_rebate,
                hold.captured_credit,
                hold.captured_prepaid,
            )
            == (179, 119, 1500)
        )
        balances = await dealer_balances(s, shop.dealer.id)
        assert (balances.rebate, balances.prepaid, balances.credit_used) == (5_000, 1_500, 0)
        assert await ledger_faults(s) == []
    # Nothing is left to return: another request is refused and no money moves.
    more = await client.post(
        "/mp/returns/", json=return_body(order_id, [(0, 1)]), headers=shop.headers
    )
    assert more.status_code == 422 and more.json()["code"] == "return_exceeds_shipped"


async def test_a_line_returned_unit_by_unit_never_refunds_more_than_it_paid(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings)
    # 3 TEA at 399: unit by unit, the running total rounds down and ends exact.
    order_id = await place_and_ship(db, shop, [("TEA", 3)])
    refunds = [(await returned(client, shop, order_id, [(0, 1)]))["refund"] for _ in range(3)]
    assert sum(refunds) == 3 * 399


async def _rebate_promotion(db: Database) -> None:
    body = PromotionIn(
        code="REB3",
        name="返利 3%",
        mechanic=msgspec.convert({"kind": "rebate", "shareBp": 300}, Mechanic),
        eligibility=EligibilityIn(skus=["W-550"]),
    )
    async with transaction(db) as s:
        p = await create_promotion(s, HQ, body, "Asia/Shanghai")
        await publish_promotion(s, HQ, p.id)


async def test_accrued_rebate_is_clawed_back_from_the_refund_once_spent(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings)
    await _rebate_promotion(db)
    order_id = await place_and_ship(db, shop, [("W-550", 10)])  # accrues 3 % of 1000: 30
    async with db.session() as s:
        assert (await dealer_balances(s, shop.dealer.id)).rebate == 30
    half = await returned(client, shop, order_id, [(0, 5)])
    assert (half["refund"], half["clawback"], half["clawbackShort"]) == (500, 15, 0)
    async with db.session() as s:
        assert (await dealer_balances(s, shop.dealer.id)).rebate == 15
    async with transaction(db) as s:  # the dealer spends what is left of it
        body = AdjustmentIn(account="rebate", amount=-15, reason="用掉", idempotency_key="spent")
        await adjust(s, HQ, shop.dealer.id, body)
        prepaid = (await dealer_balances(s, shop.dealer.id)).prepaid
    rest = await returned(client, shop, order_id, [(0, 5)])
    assert (rest["refund"], rest["clawback"], rest["refundPrepaid"]) == (500, 15, 500)
    async with db.session() as s:
        balances = await dealer_balances(s, shop.dealer.id)
        assert balances.rebate == 0 and balances.prepaid == prepaid + 500 - 15
        assert await ledger_faults(s) == []
    assert "¥0.15" in rest["explanation"]["zh"]
