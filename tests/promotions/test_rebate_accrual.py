"""A rebate promotion credits the dealer's rebate account at each shipment, exactly once."""

from __future__ import annotations

import uuid

import msgspec
import pytest
from sqlalchemy import select

from server.accounts import dealer_balances, ledger_faults
from server.accounts.models import AccountKind, JournalEntry
from server.db.base import utcnow
from server.db.engine import Database
from server.db.scoping import scope_to_dealer
from server.db.session import transaction
from server.errors import Conflict
from server.identity.models import Role
from server.identity.principal import Principal
from server.orders.models import OrderStatus
from server.orders.schemas import OrderCreate, OrderLineIn, ShipIn, ShipLineIn
from server.orders.service import place_order
from server.orders.transitions import ship, transition
from server.pricelists.loading import PricingCache
from server.promotions import accrue_rebates
from server.promotions.schemas import EligibilityIn, Mechanic, PromotionIn
from server.promotions.service import create_promotion, publish_promotion
from server.settings import Settings
from tests.orders.conftest import make_shop

HQ = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)


async def rebate_balance(db: Database, dealer_id: uuid.UUID) -> int:
    async with db.session() as s:
        return (await dealer_balances(s, dealer_id)).rebate


async def rebate_entries(db: Database, dealer_id: uuid.UUID) -> list[tuple[str, int]]:
    async with db.session() as s:
        rows = await s.execute(
            select(JournalEntry.reference, JournalEntry.amount)
            .where(
                JournalEntry.dealer_id == dealer_id,
                JournalEntry.account_kind == AccountKind.REBATE,
            )
            .order_by(JournalEntry.created_at)
        )
        return [(r[0], r[1]) for r in rows]


async def test_shipments_accrue_the_rebate_once_each(db: Database, settings: Settings) -> None:
    shop = await make_shop(db, settings)
    body = PromotionIn(
        code="REB3",
        name="返利 3%",
        mechanic=msgspec.convert({"kind": "rebate", "shareBp": 300}, Mechanic),
        eligibility=EligibilityIn(skus=["W-550"]),
    )
    async with transaction(db) as s:
        p = await create_promotion(s, HQ, body, "Asia/Shanghai")
        await publish_promotion(s, HQ, p.id)
    dealer = Principal(user_id=shop.user.id, role=shop.user.role, dealer_id=shop.dealer.id)
    order_id = uuid.uuid4()
    lines = [OrderLineIn(sku="W-550", qty=10), OrderLineIn(sku="TEA", qty=2)]
    async with transaction(db) as s:
        scope_to_dealer(s, shop.dealer.id)
        await place_order(
            s,
            PricingCache(),
            dealer,
            OrderCreate(id=order_id, lines=lines),
            currency="CNY",
            now=utcnow(),
        )
    async with transaction(db) as s:
        await transition(s, HQ, order_id, OrderStatus.ALLOCATED, utcnow())
    assert await rebate_balance(db, shop.dealer.id) == 0  # nothing before shipment

    first = ShipIn(carrier="顺丰", tracking_no="SF1", lines=[ShipLineIn(sku="W-550", qty=4)])
    async with transaction(db) as s:
        await ship(s, HQ, order_id, first, utcnow())
    assert await rebate_balance(db, shop.dealer.id) == 12  # 3 % of 4 x 100
    async with db.session() as s:
        reasons = select(JournalEntry.reason).where(
            JournalEntry.dealer_id == shop.dealer.id,
            JournalEntry.account_kind == AccountKind.REBATE,
        )
        assert (await s.execute(reasons)).scalars().all() == [
            "促销 REB3 返利 / Rebate of promotion REB3"
        ]
    async with transaction(db) as s:  # the rest: 6 W-550 (18) and the TEA, not eligible
        await ship(s, HQ, order_id, ShipIn(carrier="顺丰", tracking_no="SF2"), utcnow())
    assert await rebate_balance(db, shop.dealer.id) == 30

    # A retried shipment accrues nothing more: nothing is left to ship, and the accrual of a
    # shipment already made is a replay of its key.
    with pytest.raises(Conflict):
        async with transaction(db) as s:
            await ship(s, HQ, order_id, ShipIn(carrier="顺丰", tracking_no="SF2"), utcnow())
    async with transaction(db) as s:
        await accrue_rebates(s, shop.dealer.id, f"{order_id}/2", {"W-550": 600}, utcnow())
    assert await rebate_balance(db, shop.dealer.id) == 30
    assert await rebate_entries(db, shop.dealer.id) == [
        (f"{order_id}/1", 12),
        (f"{order_id}/2", 18),
    ]
    async with db.session() as s:
        assert await ledger_faults(s, shop.dealer.id) == []
