"""Budgets: consumed atomically, once per key, released once; never overrun under load."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from server.db.engine import Database
from server.db.session import transaction
from server.promotions import BudgetExhausted, consume_budget, release_budget
from server.promotions.models import Promotion, PromotionBudget, PromotionStatus
from tests.factories import make_dealer


async def make_promotion(db: Database, **budget: int | None) -> Promotion:
    async with transaction(db) as s:
        p = Promotion(
            id=uuid.uuid4(),
            code=f"B{uuid.uuid4().hex[:8]}",
            name="budget",
            kind="sell_out",
            mechanic={"kind": "sell_out", "amount": 100},
            status=PromotionStatus.PUBLISHED,
            tiers=[],
            regions=[],
            dealer_ids=[],
            segments=[],
            skus=[],
            categories=[],
            **budget,
        )
        s.add(p)
    return p


async def used(db: Database, p: Promotion, dealer_key: str = "") -> tuple[int, int]:
    async with db.session() as s:
        row = (
            await s.execute(
                select(PromotionBudget.used_amount, PromotionBudget.used_count).where(
                    PromotionBudget.promotion_id == p.id, PromotionBudget.dealer_key == dealer_key
                )
            )
        ).one()
    return row[0], row[1]


async def test_consume_once_per_key_and_release_once(db: Database) -> None:
    p = await make_promotion(db, budget_amount=1000, budget_count=5)
    dealer = await make_dealer(db)
    async with transaction(db) as s:
        assert await consume_budget(s, p, dealer.id, amount=600, key="k1")
        assert not await consume_budget(s, p, dealer.id, amount=600, key="k1")
    assert await used(db, p) == (600, 1)
    with pytest.raises(BudgetExhausted):
        async with transaction(db) as s:
            await consume_budget(s, p, dealer.id, amount=500, key="k2")
    assert await used(db, p) == (600, 1)
    async with transaction(db) as s:
        assert await release_budget(s, "k1")
        assert not await release_budget(s, "k1")
        assert not await release_budget(s, "never")
    assert await used(db, p) == (0, 0)
    async with transaction(db) as s:
        assert await consume_budget(s, p, dealer.id, amount=1000, key="k3")
    assert await used(db, p) == (1000, 1)


async def test_a_dealer_cap_limits_each_dealer(db: Database) -> None:
    p = await make_promotion(db, budget_amount=10_000, dealer_budget_count=2)
    a, b = await make_dealer(db), await make_dealer(db)
    async with transaction(db) as s:
        await consume_budget(s, p, a.id, amount=100, key="a1")
        await consume_budget(s, p, a.id, amount=100, key="a2")
    with pytest.raises(BudgetExhausted) as refused:
        async with transaction(db) as s:
            await consume_budget(s, p, a.id, amount=100, key="a3")
    assert refused.value.extra["scope"] == "dealer"
    async with transaction(db) as s:
        await consume_budget(s, p, b.id, amount=100, key="b1")
    assert await used(db, p) == (300, 3)
    assert await used(db, p, str(a.id)) == (200, 2)


async def test_200_concurrent_consumers_never_overrun_a_budget(db: Database, backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("a concurrency property of PostgreSQL (SQLite has one writer)")
    p = await make_promotion(db, budget_amount=5_000, budget_count=40)
    dealers = [await make_dealer(db) for _ in range(4)]

    async def consumer(n: int) -> bool:
        try:
            async with transaction(db) as s:
                await consume_budget(s, p, dealers[n % 4].id, amount=100 + n % 3, key=f"c{n}")
        except BudgetExhausted:
            return False
        return True

    results = await asyncio.gather(*(consumer(n) for n in range(200)))
    amount, count = await used(db, p)
    assert amount <= 5_000
    assert count <= 40
    assert count == sum(results)
    assert count >= 40 or amount > 5_000 - 102  # the budget was actually used up
    async with db.session() as s:
        from server.promotions.models import BudgetConsumption

        rows = (await s.execute(select(BudgetConsumption.amount))).scalars().all()
    assert (sum(rows), len(rows)) == (amount, count)
