"""Order mutations through ``POST /sync/push``: applied, amended, rejected; replays; pull."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from server.db.engine import Database
from server.orders.models import Order
from server.settings import Settings
from tests.factories import trail_of
from tests.orders.conftest import Shop, make_shop

Client = AsyncTestClient[Litestar]
SYNC = {"X-Sync-Protocol": "1"}


def create(mid: int, order_id: str, lines: list[dict[str, Any]], **args: Any) -> dict[str, Any]:
    return {
        "mid": mid,
        "name": "order.create",
        "args": {"id": order_id, "lines": lines, **args},
        "businessKey": order_id,
    }


async def push(client: Client, shop: Shop, *mutations: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.post(
        "/sync/push",
        json={"clientId": f"dev-{shop.dealer.code}", "mutations": list(mutations)},
        headers={**shop.headers, **SYNC},
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def count_orders(db: Database) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(Order)) or 0)


async def test_applied_then_replayed_and_published(
    client: Client, db: Database, shop: Shop
) -> None:
    order_id = str(uuid.uuid4())
    lines = [{"sku": "W-550", "qty": 10}]
    [result] = await push(client, shop, create(1, order_id, lines, basis=1000))
    assert (result["status"], result["detail"]["status"]) == ("applied", "approved")
    [replay] = await push(client, shop, create(1, order_id, lines, basis=1000))
    assert replay["replayed"] is True and replay["detail"]["id"] == order_id
    assert await count_orders(db) == 1
    # The automatic approval is the threshold rule applied, not an entry of its own.
    assert await trail_of(client, shop.hq, "order", order_id) == []
    pulled = await client.post(
        "/sync/pull",
        json={"cursor": {}, "clientId": f"dev-{shop.dealer.code}"},
        headers={**shop.headers, **SYNC},
    )
    changes = pulled.json()["changes"]
    orders = [c for c in changes if c["entity"] == "order"]
    assert orders and orders[-1]["key"] == order_id
    assert any(c["entity"] == "balances" for c in changes)


async def test_the_order_records_the_pushing_users_role(client: Client, shop: Shop) -> None:
    assert shop.user.role == "dealer_admin"
    order_id = str(uuid.uuid4())
    [result] = await push(client, shop, create(1, order_id, [{"sku": "W-550", "qty": 1}]))
    assert result["status"] == "applied", result
    detail = await client.get(f"/mp/orders/{order_id}", headers=shop.headers)
    roles = {e["actorRole"] for e in detail.json()["events"] if e["actorRole"]}
    assert roles == {"dealer_admin"}


async def test_price_rise_beyond_grace_is_amended_until_confirmed(
    client: Client, db: Database, shop: Shop
) -> None:
    order_id = str(uuid.uuid4())
    lines = [{"sku": "W-550", "qty": 10}]  # 1000 fen now; the client saw 900
    [result] = await push(client, shop, create(1, order_id, lines, basis=900))
    assert (result["status"], result["reason"]) == ("amended", "price_rose")
    assert result["detail"]["status"] == "pending_confirmation"
    within = str(uuid.uuid4())
    [ok] = await push(client, shop, create(2, within, lines, basis=996))  # +0.4 %
    assert ok["status"] == "applied"
    [confirmed] = await push(
        client, shop, {"mid": 3, "name": "order.confirm_amendment", "args": {"id": order_id}}
    )
    assert (confirmed["status"], confirmed["detail"]["status"]) == ("applied", "approved")
    # Automatic approvals apply HQ's rule: no entries of their own.
    assert await trail_of(client, shop.hq, "order", order_id) == []
    assert await trail_of(client, shop.hq, "order", within) == []


async def test_partial_stock_is_amended_with_backorder(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings, stock=4)
    order_id = str(uuid.uuid4())
    [result] = await push(
        client, shop, create(1, order_id, [{"sku": "W-550", "qty": 10}], allowBackorder=True)
    )
    assert (result["status"], result["reason"]) == ("amended", "stock_partial")
    assert result["detail"]["lines"][0]["reserved"] == 4


async def test_business_errors_are_rejected_and_the_queue_goes_on(
    client: Client, db: Database, shop: Shop
) -> None:
    good = str(uuid.uuid4())
    results = await push(
        client,
        shop,
        create(1, str(uuid.uuid4()), [{"sku": "W-550", "qty": 10**8}]),
        create(2, str(uuid.uuid4()), [{"sku": "NOPE", "qty": 1}]),
        create(3, good, [{"sku": "W-550", "qty": 1}]),
        {"mid": 4, "name": "order.cancel", "args": {"id": str(uuid.uuid4())}},
        {"mid": 5, "name": "order.cancel", "args": {"id": good}},
        {"mid": 6, "name": "order.cancel", "args": {"id": good}},
    )
    assert [(r["status"], r["reason"]) for r in results] == [
        ("rejected", "stock_insufficient"),
        ("rejected", "cart_invalid"),
        ("applied", None),
        ("rejected", "order_not_found"),
        ("applied", None),
        ("rejected", "order_transition_invalid"),
    ]
    assert await count_orders(db) == 1


async def test_out_of_order_replay_of_an_old_mutation_answers_its_stored_result(
    client: Client, db: Database, shop: Shop
) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    lines = [{"sku": "TEA", "qty": 1}]
    await push(client, shop, create(1, first, lines), create(2, second, lines))
    [old] = await push(client, shop, create(1, first, lines))
    assert old["replayed"] is True and old["detail"]["id"] == first
    # A reinstalled client (new client id, mids restart) cannot create the order twice.
    response = await client.post(
        "/sync/push",
        json={"clientId": "reinstalled", "mutations": [create(1, second, lines)]},
        headers={**shop.headers, **SYNC},
    )
    assert response.status_code == 200, response.text
    assert await count_orders(db) == 2
