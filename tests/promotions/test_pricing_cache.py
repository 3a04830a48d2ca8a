"""The promotion steps cached per catalog revision follow every lifecycle change.

One ``PricingCache`` prices the same cart again and again while HQ publishes, replaces and
ends promotions: each change shows in the very next price, and a window that opens or
closes takes effect at its instant without any write (no revision bump).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from server.catalog.service import read_revision
from server.db.engine import Database
from server.db.session import transaction
from server.dealers.models import Dealer
from server.identity.models import Role
from server.identity.principal import Principal
from server.pricelists.cart import price_for_dealer
from server.pricelists.loading import PricingCache
from server.pricing import CartLine, PricedCart
from server.promotions.schemas import EligibilityIn, Mechanic, PromotionIn
from server.promotions.service import (
    archive_promotion,
    create_promotion,
    publish_promotion,
    update_promotion,
)
from tests.factories import make_dealer, make_price_list, make_sku

HQ = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
ZONE = "Asia/Shanghai"


def percent_off(code: str, bp: int, **window: date) -> PromotionIn:
    return PromotionIn(
        code=code,
        name=code,
        mechanic=msgspec.convert({"kind": "percent_off", "percentOffBp": bp}, Mechanic),
        eligibility=EligibilityIn(skus=["A"]),
        **window,  # type: ignore[arg-type]
    )


async def price(db: Database, cache: PricingCache, dealer: Dealer, now: datetime) -> PricedCart:
    async with db.session() as s:
        priced, _ = await price_for_dealer(
            s, cache, dealer.id, currency="CNY", now=now, lines=[CartLine(sku="A", qty=10)]
        )
    return priced


def rules(cart: PricedCart) -> list[tuple[str, int]]:
    return [(r.id, r.version) for r in cart.basis.rules]


async def revision(db: Database) -> int:
    async with db.session() as s:
        return await read_revision(s)


async def test_cached_promotions_follow_publish_replace_and_archive(db: Database) -> None:
    dealer = await make_dealer(db)
    await make_sku(db, code="A")
    await make_price_list(db, "BASE", {"A": 1000})
    cache = PricingCache()
    now = datetime.now(UTC)
    assert rules(await price(db, cache, dealer, now)) == []
    async with transaction(db) as s:
        first = await create_promotion(s, HQ, percent_off("P10", 1000), ZONE)
    assert rules(await price(db, cache, dealer, now)) == []  # a draft is never priced
    async with transaction(db) as s:
        await publish_promotion(s, HQ, first.id)
    cart = await price(db, cache, dealer, now)
    assert (rules(cart), cart.totals.payable) == ([("P10", 1)], 9_000)

    # A live promotion is changed by ending it and publishing an edited successor.
    async with transaction(db) as s:
        second = await create_promotion(s, HQ, percent_off("P20", 1500), ZONE)
        await update_promotion(s, HQ, second.id, percent_off("P20", 2000), ZONE)
    assert rules(await price(db, cache, dealer, now)) == [("P10", 1)]
    async with transaction(db) as s:
        await archive_promotion(s, HQ, first.id)
        await publish_promotion(s, HQ, second.id)
    cart = await price(db, cache, dealer, now)
    assert (rules(cart), cart.totals.payable) == ([("P20", 2)], 8_000)

    async with transaction(db) as s:
        await archive_promotion(s, HQ, second.id)
    cart = await price(db, cache, dealer, now)
    assert (rules(cart), cart.totals.payable) == ([], 10_000)


async def test_a_cached_window_opens_and_closes_without_a_write(db: Database) -> None:
    dealer = await make_dealer(db)
    await make_sku(db, code="A")
    await make_price_list(db, "BASE", {"A": 1000})
    tomorrow = datetime.now(ZoneInfo(ZONE)).date() + timedelta(days=1)
    async with transaction(db) as s:
        p = await create_promotion(
            s, HQ, percent_off("TMRW", 1000, starts_on=tomorrow, ends_on=tomorrow), ZONE
        )
        await publish_promotion(s, HQ, p.id)
        starts_at, ends_at = p.starts_at, p.ends_at
    assert starts_at is not None and ends_at is not None
    cache = PricingCache()
    before = await revision(db)
    assert rules(await price(db, cache, dealer, starts_at - timedelta(seconds=1))) == []
    assert rules(await price(db, cache, dealer, starts_at)) == [("TMRW", 1)]
    assert rules(await price(db, cache, dealer, ends_at - timedelta(seconds=1))) == [("TMRW", 1)]
    assert rules(await price(db, cache, dealer, ends_at)) == []
    assert await revision(db) == before  # one cached set served every instant
