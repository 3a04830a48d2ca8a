"""The domains tell dealers what happened: orders approved, shipped (each shipment) and
rejected, claims decided, a tier's price list published, credit running low."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from server.claims.decisions import note_claim_notice
from server.claims.models import Claim, ClaimStatus
from server.db.engine import Database
from server.db.session import transaction
from server.notifications.models import InboxItem, NotificationEvent
from server.pricelists import service as pricelists
from server.pricelists.models import PriceListStatus
from server.pricing import Scope
from server.settings import Settings
from tests.factories import make_dealer, make_price_list, make_sku
from tests.notifications.conftest import Client
from tests.orders.conftest import make_shop


def order_body(**extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "lines": [{"sku": "TEA", "qty": 3}], **extra}


async def _events(db: Database) -> list[tuple[str, dict[str, Any]]]:
    async with db.session() as session:
        rows = await session.execute(
            select(NotificationEvent).order_by(NotificationEvent.created_at, NotificationEvent.key)
        )
        return [(e.kind, e.params) for e in rows.scalars()]


async def _inbox(client: Client, headers: dict[str, str]) -> list[tuple[str, str]]:
    page = (await client.get("/mp/inbox", headers=headers)).json()
    return [(i["kind"], i["body"]["zh"]) for i in reversed(page["items"])]


async def test_order_decisions_and_shipments_reach_the_inbox(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings)
    held = order_body(addressId=str(shop.away))  # diversion: waits for HQ
    await client.post("/mp/orders", json=held, headers=shop.headers)
    response = await client.post(
        f"/hq/orders/{held['id']}/approve", json={"comment": "特批"}, headers=shop.hq
    )
    assert response.status_code == 200, response.text
    await client.post(f"/hq/orders/{held['id']}/allocate", headers=shop.hq)
    for n, qty in enumerate((1, 2)):
        shipped = await client.post(
            f"/hq/orders/{held['id']}/shipments",
            json={"carrier": "顺丰", "trackingNo": f"SF{n}", "lines": [{"sku": "TEA", "qty": qty}]},
            headers=shop.hq,
        )
        assert shipped.status_code == 201, shipped.text
    refused = order_body(addressId=str(shop.away))
    await client.post("/mp/orders", json=refused, headers=shop.headers)
    await client.post(
        f"/hq/orders/{refused['id']}/reject", json={"comment": "超出区域"}, headers=shop.hq
    )
    number = uuid.UUID(held["id"]).hex[:12].upper()
    other = uuid.UUID(refused["id"]).hex[:12].upper()
    assert await _inbox(client, shop.headers) == [
        ("order_approved", f"订单 {number}（¥11.97）已审核通过，即将备货发货。"),
        ("order_shipped", f"订单 {number}（¥11.97）已发货，物流：顺丰 SF0。"),
        ("order_shipped", f"订单 {number}（¥11.97）已发货，物流：顺丰 SF1。"),
        ("order_rejected", f"订单 {other}（¥11.97）未通过审核：超出区域"),
    ]


async def test_credit_running_low_is_told_when_it_crosses_the_line(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings, prepaid=0, credit=1300)  # the line: ¥1.30
    first = await client.post("/mp/orders", json=order_body(), headers=shop.headers)
    assert first.status_code == 201, first.text
    assert await _inbox(client, shop.headers) == [
        ("credit_low", "可用信用额度仅剩 ¥1.03（额度 ¥13.00），请及时回款或预存。")
    ]
    small = order_body(lines=[{"sku": "W-550", "qty": 1}])  # already below: nothing new
    assert (await client.post("/mp/orders", json=small, headers=shop.headers)).status_code == 201
    assert [k for k, _ in await _events(db)].count("credit_low") == 1


async def test_tier_price_list_tells_the_tiers_dealers(db: Database) -> None:
    core, core2, growth = (
        await make_dealer(db, "core"),
        await make_dealer(db, "core"),
        await make_dealer(db, "growth"),
    )
    await make_sku(db, code="TEA")
    draft = await make_price_list(
        db, "CORE-2027", {"TEA": 380}, scope=Scope.TIER, key="core", status=PriceListStatus.DRAFT
    )
    async with transaction(db) as session:
        await pricelists.publish(session, None, draft.id)
    async with db.session() as session:
        dealers = set((await session.execute(select(InboxItem.dealer_id))).scalars())
    assert dealers == {core.id, core2.id} and growth.id not in dealers
    assert [k for k, _ in await _events(db)] == ["price_list_changed"]


async def test_a_claim_decision_tells_the_dealer_and_the_rep(db: Database) -> None:
    dealer = await make_dealer(db)
    rep_id = uuid.uuid4()
    claim = Claim(
        id=uuid.uuid4(),
        dealer_id=dealer.id,
        promotion_id=uuid.uuid4(),
        rep_id=rep_id,
        status=ClaimStatus.APPROVED,
        amount=30_000,
        approved_amount=25_000,
    )
    for _ in range(2):  # the same decision noted twice: told once
        async with transaction(db) as session:
            note_claim_notice(session, claim, "陈列达标")
    async with db.session() as session:
        event = (await session.execute(select(NotificationEvent))).scalar_one()
        item = (await session.execute(select(InboxItem))).scalar_one()
    assert (event.kind, event.user_ids, event.params["amount"]) == (
        "claim_decided",
        [str(rep_id)],
        25_000,
    )
    assert item.body_zh == f"核销单 {claim.id.hex[:12].upper()}已通过，金额 ¥250.00。陈列达标"
