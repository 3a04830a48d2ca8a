"""Catalog browse with dealer prices, price-list lifecycle, cache invalidation, cart pricing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.catalog.models import ItemStatus
from server.db.engine import Database
from server.identity.models import Role
from server.pricing import Scope
from server.settings import Settings
from tests.factories import (
    bearer,
    make_dealer,
    make_price_list,
    make_regions,
    make_sku,
    make_tiers,
    make_user,
)

Client = AsyncTestClient[Litestar]


async def _dealer_headers(
    db: Database, settings: Settings, tier: str = "core", regions: tuple[str, ...] = ()
) -> tuple[dict[str, str], str]:
    dealer = await make_dealer(db, tier=tier, regions=regions)
    user = await make_user(db, Role.DEALER_ADMIN, dealer=dealer)
    return bearer(settings, user), str(dealer.id)


async def _prices(client: Client, headers: dict[str, str], **params: str) -> dict[str, int | None]:
    response = await client.get("/mp/catalog/skus", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {s["code"]: (s["price"] or {}).get("unitPrice") for s in response.json()["items"]}


async def test_hq_creates_skus_and_dealers_find_them_by_pinyin_initials(
    client: Client, db: Database, settings: Settings
) -> None:
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    category = await client.post(
        "/hq/catalog/categories", json={"code": "water", "name": "饮用水"}, headers=hq
    )
    assert category.status_code == 201, category.text
    product = await client.post(
        "/hq/catalog/products",
        json={
            "code": "P1",
            "name": "农夫山泉天然水",
            "brand": "农夫山泉",
            "categoryId": category.json()["id"],
        },
        headers=hq,
    )
    assert product.status_code == 201, product.text
    sku = await client.post(
        "/hq/catalog/skus",
        json={
            "code": "NF-550",
            "productId": product.json()["id"],
            "name": "农夫山泉天然水 550ml",
            "unit": "箱",
            "packSize": 24,
            "minOrderQty": 24,
            "wholeCases": True,
            "barcode": "6921168509256",
        },
        headers=hq,
    )
    assert sku.status_code == 201, sku.text
    assert (sku.json()["pinyinInitials"], sku.json()["pinyin"]) == (
        "nfsqtrs",
        "nongfushanquantianranshui",
    )
    await make_sku(db, "KSF-1", "康师傅红烧牛肉面")
    dup = await client.post(
        "/hq/catalog/skus",
        json={"code": "NF-550", "productId": product.json()["id"], "name": "重复"},
        headers=hq,
    )
    assert dup.status_code == 409
    headers, _ = await _dealer_headers(db, settings)
    for q in ("nfsq", "NFSQ", "nongfu", "天然水", "6921168509256", "NF-550"):
        assert list(await _prices(client, headers, q=q)) == ["NF-550"], q
    assert list(await _prices(client, headers, q="ksf")) == ["KSF-1"]
    assert list(await _prices(client, headers, categoryId=category.json()["id"])) == ["NF-550"]
    forbidden = await client.post(
        "/hq/catalog/categories", json={"code": "x", "name": "x"}, headers=headers
    )
    assert forbidden.status_code == 403


async def test_cursor_pages_walk_every_sku_once(
    client: Client, db: Database, settings: Settings
) -> None:
    for n in range(7):
        await make_sku(db, f"S{n}", f"商品{n}")
    headers, _ = await _dealer_headers(db, settings)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/mp/catalog/skus", params=params, headers=headers)).json()
        seen += [s["code"] for s in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == [f"S{n}" for n in range(7)]


async def test_most_specific_scope_wins_per_dealer(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_regions(db)
    for code in ("A", "B", "C"):
        await make_sku(db, code, f"商品{code}")
    core, core_id = await _dealer_headers(db, settings, "core", ("330106",))
    growth, _ = await _dealer_headers(db, settings, "growth", ("440100",))
    await make_price_list(db, "PL-DEF", {"A": 1000, "B": 1000, "C": 1000})
    await make_price_list(db, "PL-CORE", {"A": 900, "B": 900}, scope=Scope.TIER, key="core")
    await make_price_list(db, "PL-ZJ", {"B": 850}, scope=Scope.REGION, key="330000")
    await make_price_list(db, "PL-MINE", {"A": 700}, scope=Scope.DEALER, key=core_id)
    assert await _prices(client, core) == {"A": 700, "B": 850, "C": 1000}
    assert await _prices(client, growth) == {"A": 1000, "B": 1000, "C": 1000}
    detail = await client.get("/mp/catalog/skus", params={"q": "B"}, headers=core)
    assert detail.json()["items"][0]["price"]["priceList"] == {"id": "PL-ZJ", "version": 1}


async def test_item_errors_read_in_both_languages(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_sku(db, "A", "商品A")
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    body = {
        "code": "PL-BAD",
        "name": "有误",
        "scope": "default",
        "items": [
            {"sku": "A", "unitPrice": 1000, "breaks": [{"minQty": 10, "unitPrice": 1100}]},
            {"sku": "A", "unitPrice": 900},
            {"sku": "GHOST", "unitPrice": 900},
        ],
    }
    zh = await client.post("/hq/price-lists", json=body, headers=hq)
    en = await client.post("/hq/price-lists", json=body, headers={**hq, "Accept-Language": "en"})
    assert (zh.status_code, zh.json()["code"]) == (422, "price_list_items_invalid")
    assert [(e["key"], e["code"], e["message"]) for e in zh.json()["errors"]] == [
        (
            "items[0]",
            "break_price_rises",
            "第 1 档单价 ¥11.00 高于上一档 ¥10.00，阶梯价不能随数量上升",
        ),
        ("items[1]", "sku_duplicate", "第 2 项商品 A 与第 1 项重复"),
        ("items[2]", "sku_unknown", "第 3 项商品 GHOST 不存在"),
    ]
    assert [e["message"] for e in en.json()["errors"]] == [
        "Break 1: the unit price ¥11.00 is above the ¥10.00 before it; "
        "prices must not rise with quantity",
        "Item 2: SKU A repeats item 1",
        "Item 3: unknown SKU GHOST",
    ]


async def test_publish_lifecycle_and_the_next_request_sees_the_new_price(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_sku(db, "A", "商品A")
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    headers, _ = await _dealer_headers(db, settings)
    created = await client.post(
        "/hq/price-lists",
        json={
            "code": "PL-DEF",
            "name": "全国统一价",
            "scope": "default",
            "items": [
                {"sku": "A", "unitPrice": 1200, "breaks": [{"minQty": 10, "unitPrice": 1100}]}
            ],
        },
        headers=hq,
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    assert await _prices(client, headers) == {
        "A": None
    }  # drafts price nothing (and page is cached)
    published = await client.post(f"/hq/price-lists/{created.json()['id']}/publish", headers=hq)
    assert published.status_code == 200, published.text
    assert await _prices(client, headers) == {"A": 1200}
    again = await client.post(f"/hq/price-lists/{created.json()['id']}/publish", headers=hq)
    assert (again.status_code, again.json()["code"]) == (409, "price_list_not_draft")
    draft = await client.post("/hq/price-lists/by-code/PL-DEF/versions", headers=hq)
    assert (draft.status_code, draft.json()["version"], draft.json()["itemCount"]) == (201, 2, 1)
    second = await client.post("/hq/price-lists/by-code/PL-DEF/versions", headers=hq)
    assert (second.status_code, second.json()["code"]) == (409, "draft_exists")
    replaced = await client.put(
        f"/hq/price-lists/{draft.json()['id']}/items",
        json={"items": [{"sku": "A", "unitPrice": 999}]},
        headers=hq,
    )
    assert replaced.status_code == 200, replaced.text
    assert await _prices(client, headers) == {"A": 1200}
    assert (
        await client.post(f"/hq/price-lists/{draft.json()['id']}/publish", headers=hq)
    ).status_code == 200
    assert await _prices(client, headers) == {"A": 999}  # the very next request
    versions = await client.get("/hq/price-lists", params={"code": "PL-DEF"}, headers=hq)
    assert sorted((v["version"], v["status"]) for v in versions.json()["items"]) == [
        (1, "superseded"),
        (2, "published"),
    ]


async def test_equally_ranked_lists_are_refused_at_publish(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_sku(db, "A", "商品A")
    await make_sku(db, "B", "商品B")
    await make_tiers(db)
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    await make_price_list(db, "PL-1", {"A": 1000}, scope=Scope.TIER, key="core", priority=5)
    draft = await client.post(
        "/hq/price-lists",
        json={
            "code": "PL-2",
            "name": "促销价",
            "scope": "tier",
            "scopeKey": "core",
            "priority": 5,
            "items": [{"sku": "A", "unitPrice": 900}, {"sku": "B", "unitPrice": 900}],
        },
        headers=hq,
    )
    assert draft.status_code == 201, draft.text
    refused = await client.post(f"/hq/price-lists/{draft.json()['id']}/publish", headers=hq)
    assert (refused.status_code, refused.json()["code"]) == (409, "price_list_conflict")
    assert [(e["sku"], [r["id"] for r in e["lists"]]) for e in refused.json()["errors"]] == [
        ("A", ["PL-2", "PL-1"])
    ]
    assert refused.json()["errors"][0]["message"] == "商品 A 同时由同级同优先级的 PL-2 与 PL-1 定价"
    english = await client.post(
        f"/hq/price-lists/{draft.json()['id']}/publish", headers={**hq, "Accept-Language": "en"}
    )
    assert english.json()["errors"][0]["message"] == (
        "SKU A is priced by both PL-2 and PL-1, of the same scope and priority"
    )
    still = await client.get(f"/hq/price-lists/{draft.json()['id']}", headers=hq)
    assert still.json()["status"] == "draft"
    await client.put(f"/hq/price-lists/{draft.json()['id']}", json={"priority": 6}, headers=hq)
    assert (
        await client.post(f"/hq/price-lists/{draft.json()['id']}/publish", headers=hq)
    ).status_code == 200


async def test_cart_is_priced_with_its_explanation(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_sku(db, "A", "商品A")
    await make_sku(db, "CASE", "整箱商品", pack_size=12, whole_cases=True)
    await make_price_list(db, "PL-DEF", {"A": (1000, [(10, 900)]), "CASE": 500})
    headers, _ = await _dealer_headers(db, settings)
    response = await client.post(
        "/mp/cart/price",
        json={"lines": [{"sku": "A", "qty": 10}, {"sku": "CASE", "qty": 24}]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totals"] == {
        "listAmount": 22000,
        "goodsAmount": 21000,
        "discount": 0,
        "payable": 21000,
    }
    assert [row["step"] for row in body["explanation"]] == [
        "list_price",
        "volume_break",
        "list_price",
    ]
    assert body["basis"]["priceLists"] == [{"id": "PL-DEF", "version": 1}]


async def test_every_bad_cart_line_is_reported(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_sku(db, "A", "商品A")
    await make_sku(db, "CASE", "整箱商品", pack_size=12, whole_cases=True)
    await make_sku(db, "MOQ", "起订商品", min_order_qty=5)
    await make_sku(db, "NOPRICE", "无价商品")
    await make_price_list(db, "PL-DEF", {"A": 1000, "CASE": 500, "MOQ": 100})
    headers, _ = await _dealer_headers(db, settings)
    lines = [
        {"sku": "A", "qty": 0},
        {"sku": "CASE", "qty": 13},
        {"sku": "MOQ", "qty": 2},
        {"sku": "GHOST", "qty": 1},
        {"sku": "NOPRICE", "qty": 1},
        {"sku": "A", "qty": -1},
    ]
    response = await client.post("/mp/cart/price", json={"lines": lines}, headers=headers)
    assert (response.status_code, response.json()["code"]) == (422, "cart_invalid")
    assert [(e["line"], e["code"]) for e in response.json()["errors"]] == [
        (0, "quantity_not_positive"),
        (1, "quantity_not_pack_multiple"),
        (2, "quantity_below_minimum"),
        (3, "sku_unknown"),
        (4, "sku_not_priced"),
        (5, "duplicate_sku"),
    ]


async def test_sku_detail_shows_my_price_and_breaks(
    client: Client, db: Database, settings: Settings
) -> None:
    sku = await make_sku(db, "A", "商品A")
    await make_price_list(db, "PL-DEF", {"A": (1000, [(10, 900), (50, 800)])})
    headers, _ = await _dealer_headers(db, settings)
    response = await client.get(f"/mp/catalog/skus/{sku.id}", headers=headers)
    assert response.status_code == 200, response.text
    price = response.json()["price"]
    assert (price["unitPrice"], [(b["minQty"], b["unitPrice"]) for b in price["breaks"]]) == (
        1000,
        [(10, 900), (50, 800)],
    )
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    assert (await client.get(f"/mp/catalog/skus/{sku.id}", headers=hq)).status_code == 403


async def test_a_dealer_moved_to_another_tier_sees_that_tier_price_at_once(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_tiers(db)
    await make_sku(db, "A", "商品A")
    await make_price_list(db, "PL-CORE", {"A": 900}, scope=Scope.TIER, key="core")
    await make_price_list(db, "PL-GROWTH", {"A": 950}, scope=Scope.TIER, key="growth")
    headers, dealer_id = await _dealer_headers(db, settings, "core")
    assert await _prices(client, headers) == {"A": 900}
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    moved = await client.put(f"/hq/dealers/{dealer_id}", json={"tierCode": "growth"}, headers=hq)
    assert moved.status_code == 200, moved.text
    assert await _prices(client, headers) == {"A": 950}


async def test_a_list_prices_only_inside_its_effective_window(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_tiers(db)
    await make_sku(db, "A", "商品A")
    await make_price_list(db, "PL-DEF", {"A": 1000})
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    headers, _ = await _dealer_headers(db, settings, "core")
    now = datetime.now(UTC)
    for code, start, end, price in (
        ("PL-SOON", now + timedelta(days=1), None, 800),
        ("PL-OVER", now - timedelta(days=2), now - timedelta(days=1), 700),
    ):
        draft = await client.post(
            "/hq/price-lists",
            headers=hq,
            json={
                "code": code,
                "name": code,
                "scope": "tier",
                "scopeKey": "core",
                "priority": 1 if code == "PL-SOON" else 2,
                "effectiveFrom": start.isoformat(),
                "effectiveTo": end.isoformat() if end else None,
                "items": [{"sku": "A", "unitPrice": price}],
            },
        )
        assert draft.status_code == 201, draft.text
        assert (
            await client.post(f"/hq/price-lists/{draft.json()['id']}/publish", headers=hq)
        ).status_code == 200
    assert await _prices(client, headers) == {"A": 1000}
    backwards = await client.post(
        "/hq/price-lists",
        headers=hq,
        json={
            "code": "PL-BAD",
            "name": "x",
            "scope": "default",
            "effectiveFrom": now.isoformat(),
            "effectiveTo": (now - timedelta(days=1)).isoformat(),
        },
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "effective_window_invalid")
    assert [(e["key"], e["zh"], e["en"]) for e in backwards.json()["errors"]] == [
        ("effectiveTo", "须晚于生效时间", "Must be after effectiveFrom")
    ]


async def test_inactive_skus_are_hidden_from_dealers(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_sku(db, "A", "Evian 依云矿泉水")
    gone = await make_sku(db, "OLD", "下架商品", status=ItemStatus.DISCONTINUED)
    headers, _ = await _dealer_headers(db, settings)
    assert list(await _prices(client, headers)) == ["A"]
    assert list(await _prices(client, headers, q="evian")) == [
        "A"
    ]  # names match case-insensitively
    assert (await client.get(f"/mp/catalog/skus/{gone.id}", headers=headers)).status_code == 404
