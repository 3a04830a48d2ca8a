"""Every key a client reads is camelCase: what the server publishes and what the spec answers.

A realistic flow (a price list with volume breaks, a promotion, a claim, an order pushed
offline that moves stock and balances) runs through the API; then every payload in the change
log (what pulls and webhooks carry) and every schema of the OpenAPI document is walked.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from server.db.engine import Database
from server.settings import Settings
from sync.tables import sync_change
from tests.claims.conftest import today
from tests.orders.conftest import Shop, make_shop

Client = AsyncTestClient[Litestar]
SYNC = {"X-Sync-Protocol": "1"}
SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
SNAKE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)+")


def snake_keys(value: Any, where: str = "$") -> list[str]:
    """The paths of every snake_case key in a JSON value."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if SNAKE.fullmatch(str(key)):
                found.append(f"{where}.{key}")
            found += snake_keys(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += snake_keys(item, f"{where}[{i}]")
    return found


def test_the_walker_finds_snake_case_keys() -> None:
    payload = {"skuId": "x", "breaks": [{"minQty": 1, "unit_price": 2}], "credit_limit": 3}
    assert snake_keys(payload) == ["$.breaks[0].unit_price", "$.credit_limit"]
    assert snake_keys({"price:tier:core": 1, "SKU_A": 2, "dealerId": "d"}) == []


async def _flow(client: Client, shop: Shop) -> None:
    hq, dealer = shop.hq, shop.headers
    item = {"sku": "W-550", "unitPrice": 100, "breaks": [{"minQty": 50, "unitPrice": 90}]}
    created = await client.post(
        "/hq/price-lists",
        headers=hq,
        json={"code": "VOL", "name": "量价", "scope": "default", "priority": 5, "items": [item]},
    )
    assert created.status_code == 201, created.text
    published = await client.post(f"/hq/price-lists/{created.json()['id']}/publish", headers=hq)
    assert published.status_code == 200, published.text
    promotion = await client.post(
        "/hq/promotions",
        headers=hq,
        json={
            "code": "SO1",
            "name": "春节促销核销",
            "mechanic": {"kind": "sell_out", "amount": 5000, "minQty": 1},
            "eligibility": {"skus": ["W-550"]},
            "startsOn": str(today() - timedelta(days=1)),
            "endsOn": str(today() + timedelta(days=10)),
        },
    )
    assert promotion.status_code == 201, promotion.text
    promo_id = promotion.json()["id"]
    assert (await client.post(f"/hq/promotions/{promo_id}/publish", headers=hq)).status_code == 200
    claim = await client.post(
        "/mp/claims", headers=dealer, json={"id": str(uuid.uuid4()), "promotionId": promo_id}
    )
    assert claim.status_code == 201, claim.text
    order_id = str(uuid.uuid4())
    pushed = await client.post(
        "/sync/push",
        headers={**dealer, **SYNC},
        json={
            "clientId": "camel-1",
            "mutations": [
                {
                    "mid": 1,
                    "name": "order.create",
                    "businessKey": order_id,
                    "args": {"id": order_id, "lines": [{"sku": "W-550", "qty": 1000}]},
                }
            ],
        },
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["results"][0]["status"] == "applied", pushed.text


async def test_every_published_payload_is_camel_case(
    client: Client, db: Database, settings: Settings
) -> None:
    await _flow(client, await make_shop(db, settings))
    async with db.session() as s:
        rows = (await s.execute(select(sync_change.c.entity, sync_change.c.data))).all()
    entities = {row.entity for row in rows}
    expected = {"price", "price_list", "promotion", "claim", "order", "balances"}
    assert expected | {"mutation_result", "stock_band"} <= entities, entities
    found = [
        f"{row.entity}: {path}"
        for row in rows
        if row.data is not None
        for path in snake_keys(json.loads(row.data))
    ]
    assert found == [], found


def test_every_schema_in_the_spec_is_camel_case() -> None:
    spec = json.loads(SPEC.read_text())
    found = [
        f"{name}.{key}"
        for name, schema in spec["components"]["schemas"].items()
        for key in schema.get("properties", {})
        if SNAKE.fullmatch(key)
    ]
    inline = [
        f"{method.upper()} {path} {status}: {key}"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        for status, response in operation.get("responses", {}).items()
        for media in (response.get("content") or {}).values()
        for key in snake_keys(media.get("schema", {}).get("properties", {}))
    ]
    assert found == [] and inline == []
