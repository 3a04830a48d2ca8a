"""Placing orders over HTTP: idempotent ids, checks, review rules, the state machine."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from server.accounts import dealer_balances, ledger_faults
from server.db.engine import Database
from server.db.session import transaction
from server.dealers.models import DealerStatus
from server.inventory import receive_stock
from server.inventory.models import StockLevel, WarehouseStockPolicy
from server.orders.models import Order
from server.settings import Settings
from tests.factories import make_warehouse, trail_of
from tests.orders.conftest import Shop, make_shop

Client = AsyncTestClient[Litestar]
CART = [{"sku": "W-550", "qty": 10}, {"sku": "W-1L", "qty": 4}]  # 1000 + 1000 fen


def order_body(**extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "lines": CART, **extra}


async def reserved(db: Database) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.sum(StockLevel.reserved))) or 0)


async def order_count(db: Database) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(Order)) or 0)


async def balances(db: Database, shop: Shop) -> tuple[int, int]:
    async with db.session() as s:
        b = await dealer_balances(s, shop.dealer.id)
        return b.prepaid, b.held


async def test_place_prices_reserves_holds_and_auto_approves(
    client: Client, db: Database, shop: Shop
) -> None:
    body = order_body(addressId=str(shop.home))
    response = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["status"], order["amount"], order["reviewReasons"]) == ("approved", 2000, [])
    assert [e["toStatus"] for e in order["events"]] == ["submitted", "approved"]
    assert await reserved(db) == 14
    assert await balances(db, shop) == (1_000_000 - 2000, 2000)
    async with db.session() as s:
        assert await ledger_faults(s) == []


async def test_a_retry_is_the_same_order_and_other_content_is_409(
    client: Client, db: Database, shop: Shop
) -> None:
    body = order_body()
    first = await client.post("/mp/orders", json=body, headers=shop.headers)
    again = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] == body["id"]
    changed = {**body, "lines": [{"sku": "W-550", "qty": 11}]}
    conflict = await client.post("/mp/orders", json=changed, headers=shop.headers)
    assert (conflict.status_code, conflict.json()["code"]) == (409, "order_id_conflict")
    assert await order_count(db) == 1
    assert await reserved(db) == 14


async def test_bad_quantities_are_refused_with_nothing_written(
    client: Client, db: Database, shop: Shop
) -> None:
    for qty in (0, -5, 10**9, 10**12):
        body = order_body(lines=[{"sku": "W-550", "qty": qty}])
        response = await client.post("/mp/orders", json=body, headers=shop.headers)
        assert response.status_code in (400, 409, 422), (qty, response.text)
    unknown = await client.post(
        "/mp/orders", json=order_body(lines=[{"sku": "NOPE", "qty": 1}]), headers=shop.headers
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "cart_invalid")
    assert await order_count(db) == 0
    assert await reserved(db) == 0


async def test_short_stock_and_short_funds_refuse_the_whole_order(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings, stock=5, prepaid=1500)
    short = await client.post("/mp/orders", json=order_body(), headers=shop.headers)
    assert (short.status_code, short.json()["code"]) == (409, "stock_insufficient")
    body = order_body(lines=[{"sku": "W-1L", "qty": 5}, {"sku": "W-550", "qty": 5}])
    poor = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert (poor.status_code, poor.json()["code"]) == (409, "funds_insufficient")
    assert await order_count(db) == 0
    assert await reserved(db) == 0
    assert await balances(db, shop) == (1500, 0)


async def test_another_dealers_order_is_404(
    client: Client, db: Database, settings: Settings, shop: Shop
) -> None:
    other = await make_shop(db, settings, with_world=False)
    body = order_body()
    placed = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert placed.status_code == 201
    order_id = body["id"]
    for method, path in (
        ("GET", f"/mp/orders/{order_id}"),
        ("POST", f"/mp/orders/{order_id}/cancel"),
        ("POST", f"/mp/orders/{order_id}/receipt"),
        ("POST", f"/mp/orders/{order_id}/reorder"),
    ):
        json: dict[str, Any] = {"id": str(uuid.uuid4())} if "reorder" in path else {}
        response = await client.request(method, path, json=json, headers=other.headers)
        assert response.status_code == 404, (path, response.text)
    # Reusing another dealer's order id never reveals or touches it.
    stolen = await client.post("/mp/orders", json=body, headers=other.headers)
    assert stolen.status_code == 409
    listed = await client.get("/mp/orders", headers=other.headers)
    assert listed.json()["items"] == []


async def test_suspended_dealer_cannot_order(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings, status=DealerStatus.SUSPENDED)
    response = await client.post("/mp/orders", json=order_body(), headers=shop.headers)
    assert (response.status_code, response.json()["code"]) == (403, "dealer_suspended")


async def test_diversion_is_held_for_review_then_approved(
    client: Client, db: Database, shop: Shop
) -> None:
    body = order_body(addressId=str(shop.away))
    order = (await client.post("/mp/orders", json=body, headers=shop.headers)).json()
    assert (order["status"], order["reviewReasons"]) == ("submitted", ["diversion"])
    queue = (await client.get("/hq/orders/review", headers=shop.hq)).json()
    assert [o["id"] for o in queue["items"]] == [body["id"]]
    approved = await client.post(
        f"/hq/orders/{body['id']}/approve", json={"comment": "特批"}, headers=shop.hq
    )
    assert approved.json()["status"] == "approved"
    assert await trail_of(client, shop.hq, "order", body["id"]) == [
        ("approved", "hq_admin", "特批")
    ]


async def test_watch_tier_pays_only_from_prepaid_and_is_reviewed(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings, tier="watch", prepaid=1000, credit=1_000_000)
    refused = await client.post("/mp/orders", json=order_body(), headers=shop.headers)
    assert (refused.status_code, refused.json()["code"]) == (409, "funds_insufficient")
    small = order_body(lines=[{"sku": "W-550", "qty": 10}])
    order = (await client.post("/mp/orders", json=small, headers=shop.headers)).json()
    assert (order["status"], order["reviewReasons"]) == ("submitted", ["watch_tier"])
    assert await balances(db, shop) == (0, 1000)


async def test_threshold_holds_large_orders(client: Client, db: Database, shop: Shop) -> None:
    put = await client.put(
        "/hq/order-settings/approval-threshold",
        json={"approvalThreshold": 1500},
        headers=shop.hq,
    )
    assert put.json() == {"approvalThreshold": 1500}
    order = (await client.post("/mp/orders", json=order_body(), headers=shop.headers)).json()
    assert order["reviewReasons"] == ["amount_above_threshold"]
    rejected = await client.post(
        f"/hq/orders/{order['id']}/reject", json={"comment": "超额"}, headers=shop.hq
    )
    assert rejected.json()["status"] == "rejected"
    assert await trail_of(client, shop.hq, "order", order["id"]) == [
        ("rejected", "hq_admin", "超额")
    ]
    assert await reserved(db) == 0
    assert await balances(db, shop) == (1_000_000, 0)


async def test_wrong_state_transitions_are_409_and_change_nothing(
    client: Client, db: Database, shop: Shop
) -> None:
    body = order_body()
    order_id = body["id"]
    await client.post("/mp/orders", json=body, headers=shop.headers)
    receipt = await client.post(f"/mp/orders/{order_id}/receipt", headers=shop.headers)
    problem = receipt.json()
    assert receipt.status_code == 409
    assert (problem["code"], problem["from"], problem["to"]) == (
        "order_transition_invalid",
        "approved",
        "received",
    )
    assert problem["detail"] == "订单状态不能从“已批准”变为“已收货”"
    english = await client.post(
        f"/mp/orders/{order_id}/receipt", headers={**shop.headers, "Accept-Language": "en"}
    )
    assert english.json()["detail"] == "An order cannot go from approved to received"
    ship_early = await client.post(
        f"/hq/orders/{order_id}/shipments",
        json={"carrier": "SF", "trackingNo": "SF1"},
        headers=shop.hq,
    )
    assert ship_early.status_code == 409
    assert (
        await client.post(f"/hq/orders/{order_id}/allocate", headers=shop.hq)
    ).status_code == 200
    cancel = await client.post(f"/mp/orders/{order_id}/cancel", json={}, headers=shop.headers)
    assert (cancel.status_code, cancel.json()["from"]) == (409, "allocated")
    detail = (await client.get(f"/mp/orders/{order_id}", headers=shop.headers)).json()
    assert detail["status"] == "allocated"
    assert len(detail["events"]) == 3
    assert await reserved(db) == 14


async def test_cancel_releases_stock_and_funds(client: Client, db: Database, shop: Shop) -> None:
    body = order_body()
    await client.post("/mp/orders", json=body, headers=shop.headers)
    cancel = await client.post(
        f"/mp/orders/{body['id']}/cancel", json={"comment": "下错了"}, headers=shop.headers
    )
    assert cancel.json()["status"] == "cancelled"
    assert await reserved(db) == 0
    assert await balances(db, shop) == (1_000_000, 0)
    again = await client.post(f"/mp/orders/{body['id']}/cancel", json={}, headers=shop.headers)
    assert again.status_code == 409
    # The automatic approval at placement applies HQ's rule; the cancellation is a person's.
    assert await trail_of(client, shop.hq, "order", body["id"]) == [
        ("cancelled", "dealer_admin", "下错了")
    ]


async def test_partial_shipments_capture_in_proportion(
    client: Client, db: Database, shop: Shop
) -> None:
    body = order_body(lines=[{"sku": "TEA", "qty": 3}])  # 1197 fen
    await client.post("/mp/orders", json=body, headers=shop.headers)
    order_id = body["id"]
    await client.post(f"/hq/orders/{order_id}/allocate", headers=shop.hq)
    first = await client.post(
        f"/hq/orders/{order_id}/shipments",
        json={"carrier": "顺丰", "trackingNo": "SF001", "lines": [{"sku": "TEA", "qty": 1}]},
        headers=shop.hq,
    )
    assert first.status_code == 201, first.text
    assert (first.json()["status"], first.json()["captured"]) == ("partially_shipped", 399)
    too_many = await client.post(
        f"/hq/orders/{order_id}/shipments",
        json={"carrier": "顺丰", "trackingNo": "SF002", "lines": [{"sku": "TEA", "qty": 5}]},
        headers=shop.hq,
    )
    assert too_many.status_code == 422
    rest = await client.post(
        f"/hq/orders/{order_id}/shipments",
        json={"carrier": "顺丰", "trackingNo": "SF003"},
        headers=shop.hq,
    )
    done = rest.json()
    assert (done["status"], done["captured"]) == ("shipped", 1197)
    assert [s["trackingNo"] for s in done["shipments"]] == ["SF001", "SF003"]
    assert await balances(db, shop) == (1_000_000 - 1197, 0)
    received = await client.post(f"/mp/orders/{order_id}/receipt", headers=shop.headers)
    assert received.json()["status"] == "received"
    completed = await client.post(f"/hq/orders/{order_id}/complete", headers=shop.hq)
    assert completed.json()["status"] == "completed"
    assert await reserved(db) == 0
    async with db.session() as s:
        assert await ledger_faults(s) == []


async def test_reorder_and_list_pages(client: Client, db: Database, shop: Shop) -> None:
    body = order_body()
    await client.post("/mp/orders", json=body, headers=shop.headers)
    new_id = str(uuid.uuid4())
    again = await client.post(
        f"/mp/orders/{body['id']}/reorder", json={"id": new_id}, headers=shop.headers
    )
    assert again.status_code == 201, again.text
    assert [(ln["sku"], ln["qty"]) for ln in again.json()["lines"]] == [
        ("W-550", 10),
        ("W-1L", 4),
    ]
    page = (await client.get("/mp/orders?limit=1", headers=shop.headers)).json()
    assert len(page["items"]) == 1 and page["nextCursor"]
    rest = (
        await client.get(f"/mp/orders?limit=1&cursor={page['nextCursor']}", headers=shop.headers)
    ).json()
    assert {page["items"][0]["id"], rest["items"][0]["id"]} == {body["id"], new_id}
    hq = (await client.get(f"/hq/orders?dealerId={shop.dealer.id}", headers=shop.hq)).json()
    assert len(hq["items"]) == 2


async def test_lines_split_over_the_dealers_warehouses_by_priority(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings, stock=5)  # 5 of each in 杭州 (HZ-01)
    province = await make_warehouse(db, region="330000", code="ZJ-01")
    async with transaction(db) as s:
        await receive_stock(s, province.id, shop.skus["W-550"], 5)
        s.add(WarehouseStockPolicy(warehouse_id=province.id, safety_stock=0, priority=10))
    body = {"id": str(uuid.uuid4()), "lines": [{"sku": "W-550", "qty": 7}]}
    response = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert response.status_code == 201, response.text
    async with db.session() as s:
        levels = {
            (lv.warehouse_id, lv.sku_id): lv.reserved
            for lv in (await s.execute(select(StockLevel))).scalars()
        }
    sku = shop.skus["W-550"]
    assert levels[(province.id, sku)] == 5  # the preferred warehouse first
    assert levels[(shop.warehouse_id, sku)] == 2  # the rest from the next one
    too_many = {"id": str(uuid.uuid4()), "lines": [{"sku": "W-550", "qty": 4}]}
    response = await client.post("/mp/orders", json=too_many, headers=shop.headers)
    assert response.status_code == 409, response.text
    assert response.json()["shortLines"] == [
        {
            "skuId": str(sku),
            "skuCode": "W-550",
            "skuName": "农夫山泉天然矿泉水 550ml",
            "requested": 4,
            "available": 3,
        }
    ]
