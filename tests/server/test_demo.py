"""The demo data keeps its promises, read through the API as a newcomer would: one brand's
products at realistic prices, stock in every warehouse, live promotions that price a cart,
a bundle, a configurable product, a quote and a claim.

The demo is seeded once into a fresh, migrated SQLite file; every test only reads it (or
prices carts, which writes nothing).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.db.migrate import upgrade
from server.demo import seed
from server.settings import Settings
from tests.conftest import make_settings
from tests.fakes.wechat import FakeWechat
from tests.server.test_readme_examples import curl_commands

PASSWORD = "channelhub-demo"
Client = AsyncTestClient[Litestar]
# What a case costs a dealer in China, by category (yuan, ex-warehouse; shelf prices run
# about half as much again): water ¥15-60, tea ¥25-60, and so on.
CASE_PRICE_YUAN = {
    "water": (15, 60),
    "tea": (25, 60),
    "juice": (25, 90),
    "functional": (35, 70),
    "coffee": (45, 80),
    "snack": (40, 300),
    "noodle": (30, 70),
}
# A bottle or can of a drink, to a dealer: from about ¥0.50 (small water) to ¥8 (NFC juice).
DRINK_UNIT_YUAN = (0.5, 8.0)
DRINKS = {"water", "tea", "juice", "functional", "coffee"}


def first_cart() -> list[dict[str, Any]]:
    """The cart the README prices for dealer01 (a core dealer in Hangzhou)."""
    for _, args in curl_commands():
        if any(arg.endswith("/mp/cart/price") for arg in args):
            return list(json.loads(args[args.index("-d") + 1])["lines"])
    raise AssertionError("the README prices no cart")


@pytest.fixture(scope="module")
async def demo(
    tmp_path_factory: pytest.TempPathFactory, fake_wechat: FakeWechat
) -> AsyncIterator[Settings]:
    """Settings of a fresh SQLite database holding the demo."""
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite+aiosqlite:///{folder / 'demo.db'}"
    await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
    settings = make_settings(url, folder, fake_wechat.base_url)
    await seed(settings, PASSWORD)
    yield settings


@pytest.fixture
async def client(demo: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(create_app(demo), base_url="http://testserver.local") as c:
        yield c


async def login(client: Client, username: str) -> dict[str, str]:
    answer = await client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return {"authorization": f"Bearer {answer.json()['accessToken']}"}


async def get(client: Client, path: str, headers: dict[str, str], **params: Any) -> Any:
    answer = await client.get(path, headers=headers, params=params)
    assert answer.status_code == 200, (path, answer.text)
    return answer.json()


async def dealer_catalog(client: Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every SKU as the dealer browses it, with its price."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = await get(client, "/mp/catalog/skus", headers, **params)
        items += page["items"]
        cursor = page["nextCursor"]
        if not cursor:
            return items


async def test_one_brand_at_realistic_prices(client: Client) -> None:
    dealer = await login(client, "dealer02")  # growth tier: the standard list's prices
    categories = {c["id"]: c["code"] for c in await get(client, "/mp/catalog/categories", dealer)}
    skus = await dealer_catalog(client, dealer)
    assert len(skus) >= 20
    assert len({sku["brand"] for sku in skus}) == 1, "one brand's own products"
    assert set(categories.values()) >= set(CASE_PRICE_YUAN)
    water_15l = []
    for sku in skus:
        category = categories[sku["categoryId"]]
        assert sku["price"] is not None, sku["code"]
        yuan = sku["price"]["unitPrice"] / 100
        low, high = CASE_PRICE_YUAN[category]
        assert low <= yuan <= high, (sku["code"], sku["name"], category, yuan)
        assert sku["unit"] == "箱" and re.search(r"[\u4e00-\u9fff]", sku["name"]), sku
        count = re.search(r"×(\d+)[瓶桶]$", sku["spec"])
        if category in DRINKS:
            assert count, f"{sku['spec']}: a drink's case names its bottles"
            per_bottle = yuan / int(count.group(1))
            assert DRINK_UNIT_YUAN[0] <= per_bottle <= DRINK_UNIT_YUAN[1], (sku, per_bottle)
        if category == "water" and sku["spec"].startswith("1.5L"):
            water_15l.append(yuan)
    assert water_15l and all(20 <= yuan <= 35 for yuan in water_15l), water_15l
    with_breaks = [sku for sku in skus if sku["price"]["breaks"]]
    assert with_breaks, "the fast movers have volume breaks"


async def test_every_warehouse_holds_stock(client: Client) -> None:
    hq = await login(client, "hq")
    warehouses = (await get(client, "/hq/warehouses", hq))["items"]
    sku_count = len((await get(client, "/hq/catalog/skus", hq, limit=200))["items"])
    assert len(warehouses) >= 3
    for warehouse in warehouses:
        path = f"/hq/inventory/warehouses/{warehouse['id']}/stock"
        stock = (await get(client, path, hq, limit=200))["items"]
        on_hand = {row["skuCode"]: row["onHand"] for row in stock}
        stocked = [code for code, cases in on_hand.items() if cases > 0]
        assert len(stocked) >= 0.9 * sku_count, (warehouse["code"], len(stocked), sku_count)
        # Stock that looks like stock: the best seller in hundreds of cases, more than the
        # slowest; never the same figure everywhere.
        assert on_hand["SKU00001"] >= 300, (warehouse["code"], on_hand["SKU00001"])
        assert on_hand["SKU00001"] > min(on_hand.values())
        assert len(set(on_hand.values())) > len(on_hand) // 2, warehouse["code"]


async def test_the_first_cart_shows_the_pipeline_at_work(client: Client) -> None:
    hq, dealer = await login(client, "hq"), await login(client, "dealer01")
    live = await get(client, "/hq/promotions", hq, status="published")
    assert len(live) >= 3
    live_codes = {p["code"] for p in live}
    answer = await client.post("/mp/cart/price", headers=dealer, json={"lines": first_cart()})
    assert answer.status_code == 200, answer.text
    cart = answer.json()
    applied = [row for row in cart["explanation"] if row["applied"]]
    breaks = [row for row in applied if row["step"] == "volume_break"]
    assert breaks and breaks[0]["outputAmount"] < breaks[0]["inputAmount"], breaks
    promotions = [r for r in applied if r["step"] in ("line_promotion", "order_promotion")]
    assert {row["ruleId"] for row in promotions} & live_codes, cart["explanation"]
    assert cart["totals"]["discount"] > 0
    assert cart["totals"]["payable"] < cart["totals"]["listAmount"]
    assert any(line["gift"] for line in cart["lines"]), "buy ten cases of tea, get one"


async def test_a_bundle_and_a_configurable_product_price_through_the_pipeline(
    client: Client,
) -> None:
    dealer = await login(client, "dealer02")
    bundles = await get(client, "/mp/catalog/bundles", dealer)
    assert bundles
    bundle = bundles[0]
    one_set = [{"sku": c["sku"], "qty": c["qty"]} for c in bundle["components"]]
    priced = await client.post("/mp/cart/price", headers=dealer, json={"lines": one_set})
    assert priced.status_code == 200, priced.text
    rows = [r for r in priced.json()["explanation"] if r["ruleId"] == bundle["code"]]
    assert any(r["applied"] and r["line"] is None for r in rows), priced.json()["explanation"]
    assert priced.json()["totals"]["payable"] == bundle["bundlePrice"]

    path = "/mp/catalog/configurables/STORE-STARTER"
    product = await get(client, path, dealer)
    groups = product["groups"]
    assert len(groups) >= 2 and product["constraints"]
    chosen = [g["options"][0]["code"] for g in groups if g["min"] >= 1]
    configured = await client.post(f"{path}/configure", headers=dealer, json={"options": chosen})
    assert configured.status_code == 200, configured.text
    assert configured.json()["cart"]["totals"]["payable"] > 0
    excluded = next(c for c in product["constraints"] if c["kind"] == "excludes")
    refused = await client.post(
        f"{path}/configure",
        headers=dealer,
        json={"options": [*chosen, excluded["option"], excluded["other"]]},
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "configuration_invalid"


async def test_a_quote_waits_for_hq_and_a_claim_is_open(client: Client) -> None:
    hq = await login(client, "hq")
    pending = (await get(client, "/hq/quotes", hq, status="pending_approval"))["items"]
    assert len(pending) == 1
    assert pending[0]["needsApproval"] and pending[0]["approvalReasons"]
    assert pending[0]["amount"] < pending[0]["policyAmount"]
    claims = await get(client, "/hq/claims", hq, status="open")
    assert len(claims) == 1 and claims[0]["repId"] is not None
    dealers = (await get(client, "/hq/dealers", hq, limit=100))["items"]
    provinces = {code[:2] for d in dealers for code in d["regionCodes"]}
    assert len(dealers) >= 10 and len(provinces) >= 3


async def test_seeding_again_changes_nothing(demo: Settings, client: Client) -> None:
    hq = await login(client, "hq")
    before = (await get(client, "/hq/catalog/skus", hq, limit=200))["items"]
    logins = await seed(demo, PASSWORD)
    after = (await get(client, "/hq/catalog/skus", hq, limit=200))["items"]
    assert before == after
    assert {username for _, username, _ in logins} >= {"hq", "ops", "rep1", "dealer01"}
