"""The pilot report compares test and control groups by the orders their dealers placed."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.engine import Database
from server.db.session import transaction
from server.identity.models import Role
from server.identity.principal import Principal
from server.orders import activity
from server.orders.activity import dealer_order_activity
from server.orders.models import OrderStatus
from server.orders.schemas import OrderCreate, OrderLineIn
from server.orders.service import place_order
from server.orders.transitions import transition
from server.pricelists.loading import PricingCache
from server.promotions import OrderActivity
from server.promotions.models import Promotion
from server.promotions.pilots import (
    SUMMARY_SECONDS,
    pilot_group,
    pilot_groups,
    pilot_report,
    pilot_summary,
    pilot_timeline,
)
from server.promotions.schemas import Mechanic, PromotionIn
from server.promotions.service import create_promotion, publish_promotion
from server.settings import Settings
from tests.orders.conftest import Shop, make_shop

HQ = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)


def today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


async def order(db: Database, cache: PricingCache, shop: Shop, **qty: int) -> uuid.UUID:
    actor = Principal(user_id=shop.user.id, role=shop.user.role, dealer_id=shop.dealer.id)
    body = OrderCreate(
        id=uuid.uuid4(), lines=[OrderLineIn(sku=sku, qty=n) for sku, n in qty.items()]
    )
    async with transaction(db) as s:
        await place_order(s, cache, actor, body, currency="CNY", now=utcnow())
    return body.id


async def test_the_pilot_report_reads_placed_orders(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with transaction(db) as s:
        p = await create_promotion(
            s,
            HQ,
            PromotionIn(
                code="PILOT",
                name="试点",
                mechanic=msgspec.convert({"kind": "display_fee", "amount": 5000}, Mechanic),
                pilot_share_bp=5000,
                starts_on=today() - timedelta(days=29),
            ),
            "Asia/Shanghai",
        )
        await publish_promotion(s, HQ, p.id)
    shops = [await make_shop(db, settings)]
    groups: dict[str, list[Shop]] = {"test": [], "control": []}
    while True:  # a deterministic split: add dealers until each group has two
        shop = shops.pop() if shops else await make_shop(db, settings, with_world=False)
        group = pilot_group(p, shop.dealer.id)
        assert group is not None
        groups[group].append(shop)
        if min(len(g) for g in groups.values()) >= 2:
            break
    cache = PricingCache()
    test, control = groups["test"], groups["control"]
    # Test: dealer 0 orders twice (2 SKUs), dealer 1 once; one more order is cancelled.
    await order(db, cache, test[0], **{"W-550": 10})  # 1000
    await order(db, cache, test[0], **{"W-1L": 2})  # 500
    await order(db, cache, test[1], **{"W-550": 1, "TEA": 1})  # 499
    cancelled = await order(db, cache, test[1], **{"W-1L": 40})
    async with transaction(db) as s:
        await transition(s, HQ, cancelled, OrderStatus.CANCELLED, utcnow())
    # Control: one order by one dealer; the other places nothing.
    await order(db, cache, control[0], **{"TEA": 3})  # 1197

    async with db.session() as s:
        row = await s.get(Promotion, p.id)
        assert row is not None
        report = await pilot_report(s, row, dealer_order_activity)
        # Read in one pass over the window and picked in Python (as for a big pilot): the same.
        monkeypatch.setattr(activity, "LISTED", 1)
        assert await pilot_report(s, row, dealer_order_activity) == report
        monkeypatch.undo()
    assert report.source == "orders"
    t, c = report.test, report.control
    assert (t.dealers, t.active_dealers, t.documents, t.amount) == (len(test), 2, 3, 1_999)
    assert t.distinct_skus_per_active_dealer == 2.0  # {W-550, W-1L} and {W-550, TEA}
    assert t.amount_per_dealer == round(1_999 / len(test), 1)
    assert (c.dealers, c.active_dealers, c.documents, c.amount) == (len(control), 1, 1, 1_197)
    assert c.documents_per_dealer == round(1 / len(control), 3)
    assert c.distinct_skus_per_active_dealer == 1.0

    # Who is in which group, and the same orders over time (30 days: 10 periods of 3 days).
    asked: list[tuple[datetime | None, datetime | None]] = []

    async def recording(
        session: AsyncSession,
        dealer_ids: Sequence[uuid.UUID],
        since: datetime | None,
        until: datetime | None,
        *,
        skus: bool = True,
    ) -> dict[uuid.UUID, OrderActivity]:
        asked.append((since, until))
        return await dealer_order_activity(session, dealer_ids, since, until, skus=skus)

    now = utcnow()
    async with db.session() as s:
        row = await s.get(Promotion, p.id)
        assert row is not None
        in_test, in_control = await pilot_groups(s, row, now)
        points = await pilot_timeline(s, row, recording, now, max_points=14)
    assert set(in_test) >= {d.dealer.id for d in test}
    assert set(in_control) >= {d.dealer.id for d in control}
    assert not set(in_test) & set(in_control)
    assert len(points) == 10
    assert asked[0][0] == row.starts_at and asked[-1][1] == now
    assert all(a[1] == b[0] for a, b in itertools.pairwise(asked))  # no gap, no overlap
    assert [p.test_orders for p in points] == [0] * 9 + [3]
    assert [p.control_orders for p in points] == [0] * 9 + [1]
    assert points[-1].test_orders_per_dealer == round(3 / len(in_test), 3)
    assert points[-1].control_amount == 1_197

    # The console's summary is reused for a few minutes, then read again.
    async with db.session() as s:
        row = await s.get(Promotion, p.id)
        assert row is not None
        first = await pilot_summary(s, row, dealer_order_activity, now)
    assert (first.test, first.control, first.points) == (in_test, in_control, points)
    await order(db, cache, control[1], **{"TEA": 1})  # 399
    async with db.session() as s:
        row = await s.get(Promotion, p.id)
        assert row is not None
        soon = await pilot_summary(s, row, dealer_order_activity, now + timedelta(minutes=1))
        later = now + timedelta(seconds=SUMMARY_SECONDS)
        again = await pilot_summary(s, row, dealer_order_activity, later)
    assert soon is first and soon.report.control.documents == 1
    assert (again.computed_at, again.report.control.documents) == (later, 2)
