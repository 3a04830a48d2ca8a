"""CPQ over HTTP: fixed bundles priced in the cart, configurable products refused by name."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.db.engine import Database
from server.identity.models import Role
from server.settings import Settings
from tests.factories import bearer, make_dealer, make_price_list, make_sku, make_user

Client = AsyncTestClient[Litestar]
HAN = re.compile(r"[\u3400-\u9fff]")


async def _setup(db: Database, settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    for code in ("WATER", "TEA", "COLA", "BOX"):
        await make_sku(db, code, f"商品{code}")
    await make_price_list(db, "PL-DEF", {"WATER": 1000, "TEA": 600, "COLA": 500, "BOX": 300})
    dealer = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=await make_dealer(db)))
    return dealer, bearer(settings, await make_user(db, Role.HQ_ADMIN))


async def test_bundle_price_applies_per_complete_set_and_follows_updates(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer, hq = await _setup(db, settings)
    unknown = await client.post(
        "/hq/catalog/bundles",
        json={
            "code": "B1",
            "name": "夏日组合",
            "bundlePrice": 1400,
            "components": [{"sku": "WATER"}, {"sku": "GHOST"}],
        },
        headers=hq,
    )
    assert (unknown.status_code, unknown.json()["errors"][0]["sku"]) == (422, "GHOST")
    created = await client.post(
        "/hq/catalog/bundles",
        json={
            "code": "B1",
            "name": "夏日组合",
            "bundlePrice": 1400,
            "components": [{"sku": "WATER", "qty": 1}, {"sku": "TEA", "qty": 1}],
        },
        headers=hq,
    )
    assert created.status_code == 201, created.text
    cart = {"lines": [{"sku": "WATER", "qty": 2}, {"sku": "TEA", "qty": 3}]}
    priced = (await client.post("/mp/cart/price", json=cart, headers=dealer)).json()
    assert priced["totals"]["discount"] == 400  # 2 sets x (1600 - 1400)
    assert priced["basis"]["rules"] == [{"id": "B1", "version": 1}]
    bundle = next(r for r in priced["explanation"] if r["ruleId"] == "B1" and r["line"] is None)
    assert bundle["message"] == "套装 夏日组合：2 套 × ¥14.00（单买 ¥16.00），共减 ¥4.00"
    assert bundle["messageEn"] == "Bundle B1: 2 set(s) × ¥14.00 (¥16.00 bought apart), ¥4.00 off"
    assert all(
        HAN.search(r["message"]) and not HAN.search(r["messageEn"]) for r in priced["explanation"]
    )
    listed = await client.get("/mp/catalog/bundles", headers=dealer)
    assert [b["code"] for b in listed.json()] == ["B1"]
    await client.put(
        f"/hq/catalog/bundles/{created.json()['id']}", json={"bundlePrice": 1500}, headers=hq
    )
    again = (await client.post("/mp/cart/price", json=cart, headers=dealer)).json()
    assert (again["totals"]["discount"], again["basis"]["rules"]) == (
        200,
        [{"id": "B1", "version": 2}],
    )


async def test_configurations_are_priced_or_refused_naming_the_constraint(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer, hq = await _setup(db, settings)
    definition = {
        "code": "GIFTBOX",
        "name": "年货礼盒",
        "base": [{"sku": "BOX"}],
        "groups": [
            {
                "code": "drinks",
                "name": "饮料",
                "min": 1,
                "max": 2,
                "options": [
                    {"code": "water", "sku": "WATER", "qty": 6},
                    {"code": "tea", "sku": "TEA", "qty": 6},
                    {"code": "cola", "sku": "COLA", "qty": 6},
                ],
            }
        ],
        "constraints": [{"kind": "excludes", "option": "cola", "other": "tea"}],
    }
    created = await client.post("/hq/catalog/configurables", json=definition, headers=hq)
    assert created.status_code == 201, created.text
    bad = {
        **definition,
        "code": "BAD",
        "constraints": [{"kind": "requires", "option": "gold", "other": "tea"}],
    }
    english = {**hq, "Accept-Language": "en"}
    refused_definition = await client.post("/hq/catalog/configurables", json=bad, headers=english)
    assert refused_definition.json()["code"] == "configurable_invalid"
    assert [(e["code"], e["message"], e["zh"]) for e in refused_definition.json()["errors"]] == [
        (
            "constraint_option_unknown",
            "A constraint names an unknown option gold",
            "约束引用了不存在的选项 gold",
        )
    ]
    ok = await client.post(
        "/mp/catalog/configurables/GIFTBOX/configure",
        json={"options": ["water", "tea"], "units": 2},
        headers=dealer,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["lines"] == [
        {"sku": "BOX", "qty": 2},
        {"sku": "TEA", "qty": 12},
        {"sku": "WATER", "qty": 12},
    ]
    assert ok.json()["cart"]["totals"]["payable"] == 2 * 300 + 12 * 600 + 12 * 1000
    refused = await client.post(
        "/mp/catalog/configurables/GIFTBOX/configure",
        json={"options": ["cola", "tea", "water"]},
        headers=dealer,
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "configuration_invalid")
    assert [e["constraint"] for e in refused.json()["errors"]] == [
        "group:drinks:max=2",
        "cola excludes tea",
    ]
    assert [e["message"] for e in refused.json()["errors"]] == [
        "「饮料」最多选择 2 项（已选 3 项）",
        "cola 与 tea 不能同时选择",
    ]
    in_english = await client.post(
        "/mp/catalog/configurables/GIFTBOX/configure",
        json={"options": ["cola", "tea", "water"]},
        headers={**dealer, "Accept-Language": "en"},
    )
    assert [(e["message"], e["zh"]) for e in in_english.json()["errors"]] == [
        ("Group drinks: choose at most 2 (chosen: 3)", "「饮料」最多选择 2 项（已选 3 项）"),
        ("Options cola and tea cannot be chosen together", "cola 与 tea 不能同时选择"),
    ]
    missing = await client.post(
        "/mp/catalog/configurables/NOPE/configure", json={"options": []}, headers=dealer
    )
    assert missing.status_code == 404
