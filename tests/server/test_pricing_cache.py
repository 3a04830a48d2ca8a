"""SKU rules and price items remembered per catalog revision follow every catalog write."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from server.catalog.schemas import SkuUpdate
from server.catalog.service import update_sku
from server.db.engine import Database
from server.db.session import transaction
from server.dealers.models import Dealer
from server.errors import Invalid
from server.identity.models import Role
from server.identity.principal import Principal
from server.pricelists.cart import price_for_dealer
from server.pricelists.loading import PricingCache
from server.pricelists.models import PriceListStatus
from server.pricelists.service import publish
from server.pricing import CartLine, PricedCart
from tests.factories import make_dealer, make_price_list, make_sku

HQ = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)


async def price(db: Database, cache: PricingCache, dealer: Dealer, **qty: int) -> PricedCart:
    async with db.session() as s:
        priced, _ = await price_for_dealer(
            s,
            cache,
            dealer.id,
            currency="CNY",
            now=datetime.now(UTC),
            lines=[CartLine(sku=sku, qty=n) for sku, n in qty.items()],
        )
    return priced


async def refusal(db: Database, cache: PricingCache, dealer: Dealer, **qty: int) -> list[str]:
    with pytest.raises(Invalid) as refused:
        await price(db, cache, dealer, **qty)
    return [e["code"] for e in refused.value.errors or []]


async def test_remembered_skus_and_prices_follow_catalog_writes(db: Database) -> None:
    dealer = await make_dealer(db)
    a = await make_sku(db, code="A")
    await make_price_list(db, "BASE", {"A": 1000})
    cache = PricingCache()
    assert (await price(db, cache, dealer, A=2)).totals.payable == 2_000
    assert await refusal(db, cache, dealer, B=1) == ["sku_unknown"]  # remembered as unknown

    await make_sku(db, code="B")
    assert await refusal(db, cache, dealer, B=1) == ["sku_not_priced"]
    await make_price_list(db, "EXTRA", {"B": 700})
    assert (await price(db, cache, dealer, A=2, B=1)).totals.payable == 2_700

    async with transaction(db) as s:
        await update_sku(s, HQ, a.id, SkuUpdate(min_order_qty=5))
    assert await refusal(db, cache, dealer, A=2) == ["quantity_below_minimum"]

    draft = await make_price_list(db, "BASE", {"A": 1200}, version=2, status=PriceListStatus.DRAFT)
    async with transaction(db) as s:
        await publish(s, HQ, draft.id)
    assert (await price(db, cache, dealer, A=5)).totals.payable == 6_000
