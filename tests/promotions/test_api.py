"""HQ promotions through the API: lifecycle, sync publication, cart pricing, windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from server.db.engine import Database
from server.identity.models import Role
from server.promotions.service import window
from server.settings import Settings
from sync.tables import sync_change
from tests.factories import bearer, make_dealer, make_price_list, make_sku, make_user, trail_of

Client = AsyncTestClient[Litestar]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return datetime.now(SHANGHAI).date()


async def hq(db: Database, settings: Settings) -> dict[str, str]:
    return bearer(settings, await make_user(db, Role.HQ_ADMIN))


async def create(client: Client, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("name", body["code"])
    response = await client.post("/hq/promotions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def publish(client: Client, headers: dict[str, str], promo: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/hq/promotions/{promo['id']}/publish", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_window_is_whole_days_in_the_brand_time_zone() -> None:
    starts, ends = window(date(2026, 11, 1), date(2026, 11, 11), "Asia/Shanghai")
    assert starts == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert ends == datetime(2026, 11, 11, 16, 0, tzinfo=UTC)  # end of 11-11 in Shanghai


async def test_lifecycle_publishes_to_the_promotion_scopes(
    client: Client, db: Database, settings: Settings
) -> None:
    headers = await hq(db, settings)
    await make_sku(db, "W1")
    draft = await create(
        client,
        headers,
        code="CORE10",
        mechanic={"kind": "percent_off", "percentOffBp": 1000},
        eligibility={"tiers": ["core"], "skus": ["W1"]},
    )
    assert draft["status"] == "draft"
    edited = await client.put(
        f"/hq/promotions/{draft['id']}",
        json={
            "code": "CORE10",
            "name": "核心九折",
            "mechanic": {"kind": "percent_off", "percentOffBp": 1200},
            "eligibility": {"tiers": ["core"], "skus": ["W1"]},
            "budget": {"amount": 500_000},
        },
        headers=headers,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2
    live = await publish(client, headers, draft)
    assert live["status"] == "published"
    again = await client.put(
        f"/hq/promotions/{draft['id']}",
        json={
            "code": "CORE10",
            "name": "x",
            "mechanic": {"kind": "percent_off", "percentOffBp": 1},
        },
        headers=headers,
    )
    assert again.status_code == 409
    async with db.session() as s:
        rows = (
            await s.execute(select(sync_change.c.scope, sync_change.c.key, sync_change.c.op))
        ).all()
    assert ("promo:tier:core", "CORE10", "upsert") in [tuple(r) for r in rows]
    archived = await client.post(f"/hq/promotions/{draft['id']}/archive", headers=headers)
    assert archived.json()["status"] == "archived"
    async with db.session() as s:
        ops = [
            tuple(r) for r in (await s.execute(select(sync_change.c.scope, sync_change.c.op))).all()
        ]
    assert ("promo:tier:core", "delete") in ops
    assert await trail_of(client, headers, "promotion", draft["id"]) == [
        ("budget_changed", "hq_admin", ""),
        ("published", "hq_admin", ""),
        ("archived", "hq_admin", ""),
    ]


async def test_invalid_definitions_are_refused(
    client: Client, db: Database, settings: Settings
) -> None:
    headers = await hq(db, settings)
    unknown = await client.post(
        "/hq/promotions",
        json={
            "code": "X",
            "name": "x",
            "mechanic": {"kind": "amount_off", "amountOff": 100},
            "eligibility": {"skus": ["NOPE"]},
        },
        headers=headers,
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "promotion_invalid"
    backwards = await client.post(
        "/hq/promotions",
        json={
            "code": "Y",
            "name": "y",
            "mechanic": {"kind": "threshold", "threshold": 100, "discount": 10},
            "startsOn": "2026-11-10",
            "endsOn": "2026-11-01",
        },
        headers=headers,
    )
    assert backwards.status_code == 422
    dealer = await make_dealer(db)
    as_dealer = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=dealer))
    assert (await client.get("/hq/promotions", headers=as_dealer)).status_code == 403


async def test_cart_price_applies_live_promotions_with_explanations(
    client: Client, db: Database, settings: Settings
) -> None:
    headers = await hq(db, settings)
    for code in ("A", "B", "G"):
        await make_sku(db, code)
    await make_price_list(db, "BASE", {"A": 1000, "B": 2500, "G": 800})
    dealer = await make_dealer(db, tier="core")
    other = await make_dealer(db, tier="growth")
    mp = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=dealer))
    mp_other = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=other))
    day = today()
    special = await create(
        client,
        headers,
        code="SP",
        priority=20,
        mechanic={"kind": "special_price", "unitPrice": 900},
        eligibility={"skus": ["A"], "tiers": ["core"]},
    )
    pct = await create(
        client,
        headers,
        code="PCT",
        priority=10,
        mechanic={"kind": "percent_off", "percentOffBp": 1000},
        eligibility={"skus": ["A"]},
    )
    full = await create(
        client,
        headers,
        code="FULL",
        mechanic={
            "kind": "tiered",
            "tiers": [
                {"threshold": 10000, "discount": 500},
                {"threshold": 20000, "discount": 1500},
            ],
        },
    )
    gift = await create(
        client,
        headers,
        code="GIFT",
        mechanic={"kind": "buy_get", "buyQty": 10, "giftSku": "G", "giftQty": 1},
        eligibility={"skus": ["A"]},
    )
    ended = await create(
        client,
        headers,
        code="OLD",
        mechanic={"kind": "amount_off", "amountOff": 500},
        eligibility={"skus": ["B"]},
        startsOn=str(day - timedelta(days=30)),
        endsOn=str(day - timedelta(days=1)),
    )
    await create(
        client,
        headers,
        code="DRAFT",
        mechanic={"kind": "amount_off", "amountOff": 500},
        eligibility={"skus": ["B"]},
    )
    for promo in (special, pct, full, gift, ended):
        await publish(client, headers, promo)

    response = await client.post(
        "/mp/cart/price",
        json={"lines": [{"sku": "A", "qty": 20}, {"sku": "B", "qty": 2}]},
        headers=mp,
    )
    assert response.status_code == 200, response.text
    cart = response.json()
    # A: 20 x 10.00 -> special 9.00 = 180.00 -> 10% = 162.00; B: 50.00; 212.00 reaches 200 -> -15.00
    assert cart["totals"]["payable"] == 21200 - 1500
    assert [(ln["sku"], ln["qty"], ln["gift"]) for ln in cart["lines"]][-1] == ("G", 2, True)
    applied = [
        (r["ruleId"], r["step"])
        for r in cart["explanation"]
        if (r["ruleId"] and r["line"] is None) or r["step"] == "line_promotion"
    ]
    assert [rule for rule, _ in applied][:2] == ["SP", "PCT"]
    rules = {r["ruleId"] for r in cart["explanation"]}
    assert {"SP", "PCT", "FULL", "GIFT"} <= rules
    assert "OLD" not in rules and "DRAFT" not in rules

    # a growth dealer gets no special price (tier) but the 10% and the tiered 满减
    response = await client.post(
        "/mp/cart/price", json={"lines": [{"sku": "A", "qty": 20}]}, headers=mp_other
    )
    assert response.json()["totals"]["payable"] == 18000 - 500
