"""Returns through the HTTP API: request, HQ queue and decision, receipt, refund, bad input."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from server.accounts import dealer_balances, ledger_faults
from server.accounts.models import EntryKind, JournalEntry
from server.db.engine import Database
from server.inventory.models import MovementKind, StockLevel, StockMovement
from server.returns.models import ReturnRequest
from server.settings import Settings
from tests.factories import trail_of
from tests.orders.conftest import make_shop
from tests.returns.conftest import (
    PDF,
    Client,
    Shipped,
    place_and_ship,
    return_body,
    upload_photo,
)


async def _on_hand(db: Database, shipped: Shipped, sku: str) -> int:
    async with db.session() as s:
        level = await s.get(StockLevel, (shipped.shop.warehouse_id, shipped.shop.skus[sku]))
        assert level is not None
        return level.on_hand


async def _prepaid(db: Database, shipped: Shipped) -> int:
    async with db.session() as s:
        return (await dealer_balances(s, shipped.shop.dealer.id)).prepaid


async def test_request_decide_receive_refund(
    client: Client, db: Database, settings: Settings, shipped: Shipped
) -> None:
    shop = shipped.shop
    photo = await upload_photo(settings, shop)
    body = return_body(shipped.order_id, [(0, 3), (1, 1)], photoIds=[photo], note="外箱破损")
    created = await client.post("/mp/returns/", json=body, headers=shop.headers)
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["status"] == "requested" and out["reasonZh"] == "破损"
    assert [(ln["sku"], ln["qty"]) for ln in out["lines"]] == [("W-550", 3), ("TEA", 1)]
    assert out["photos"] == [f"returns/{shop.dealer.id}/{photo}"]
    replay = await client.post("/mp/returns/", json=body, headers=shop.headers)
    assert replay.status_code == 200 and replay.json()["id"] == body["id"]

    queue = await client.get("/hq/returns/", params={"status": "requested"}, headers=shop.hq)
    assert [r["id"] for r in queue.json()["items"]] == [body["id"]]
    approved = await client.post(
        f"/hq/returns/{body['id']}/approve", json={"comment": "同意"}, headers=shop.hq
    )
    assert approved.json()["status"] == "approved", approved.text
    twice = await client.post(f"/hq/returns/{body['id']}/approve", json={}, headers=shop.hq)
    assert twice.status_code == 409 and twice.json()["code"] == "return_already_decided"
    assert await trail_of(client, shop.hq, "return", body["id"]) == [
        ("approved", "hq_admin", "同意")
    ]

    prepaid_before = await _prepaid(db, shipped)
    water_before = await _on_hand(db, shipped, "W-550")
    received = await client.post(
        f"/hq/returns/{body['id']}/receive", json={"disposition": "sellable"}, headers=shop.hq
    )
    assert received.status_code == 200, received.text
    money = received.json()
    assert money["status"] == "refunded"
    assert (money["returnedValue"], money["refund"], money["refundPrepaid"]) == (699, 699, 699)
    assert "¥6.99" in money["explanation"]["zh"] and "¥6.99" in money["explanation"]["en"]
    assert await _prepaid(db, shipped) == prepaid_before + 699
    assert await _on_hand(db, shipped, "W-550") == water_before + 3
    again = await client.post(
        f"/hq/returns/{body['id']}/receive", json={"disposition": "sellable"}, headers=shop.hq
    )
    assert again.status_code == 409 and again.json()["code"] == "return_not_receivable"
    async with db.session() as s:
        refunds = select(func.count()).select_from(JournalEntry)
        assert await s.scalar(refunds.where(JournalEntry.kind == EntryKind.REFUND)) == 1
        assert await ledger_faults(s) == []
    mine = await client.get(f"/mp/returns/{body['id']}", headers=shop.headers)
    assert mine.json()["refund"] == 699


async def test_scrap_is_received_then_written_off(
    client: Client, db: Database, settings: Settings, shipped: Shipped
) -> None:
    shop = shipped.shop
    body = return_body(shipped.order_id, [(0, 2)])
    assert (await client.post("/mp/returns/", json=body, headers=shop.headers)).status_code == 201
    await client.post(f"/hq/returns/{body['id']}/approve", json={}, headers=shop.hq)
    water_before = await _on_hand(db, shipped, "W-550")
    received = await client.post(
        f"/hq/returns/{body['id']}/receive", json={"disposition": "scrap"}, headers=shop.hq
    )
    assert received.json()["disposition"] == "scrap" and received.json()["refund"] == 200
    assert await _on_hand(db, shipped, "W-550") == water_before
    async with db.session() as s:
        kinds = (
            await s.scalars(
                select(StockMovement.kind)
                .where(StockMovement.reason == f"return {body['id']}")
                .order_by(StockMovement.at)
            )
        ).all()
    assert sorted(kinds) == sorted([MovementKind.RETURN, MovementKind.SCRAP])


async def test_rejected_quantities_may_be_returned_again(client: Client, shipped: Shipped) -> None:
    shop = shipped.shop
    first = return_body(shipped.order_id, [(0, 10)])
    assert (await client.post("/mp/returns/", json=first, headers=shop.headers)).status_code == 201
    more = return_body(shipped.order_id, [(0, 1)])
    refused = await client.post("/mp/returns/", json=more, headers=shop.headers)
    assert refused.status_code == 422 and refused.json()["code"] == "return_exceeds_shipped"
    no_comment = await client.post(f"/hq/returns/{first['id']}/reject", json={}, headers=shop.hq)
    assert no_comment.status_code == 422 and no_comment.json()["code"] == "comment_required"
    rejected = await client.post(
        f"/hq/returns/{first['id']}/reject", json={"comment": "无破损"}, headers=shop.hq
    )
    assert rejected.json()["status"] == "rejected"
    assert (await client.post("/mp/returns/", json=more, headers=shop.headers)).status_code == 201


async def _refused(client: Client, headers: dict[str, str], body: dict[str, object]) -> dict:
    response = await client.post("/mp/returns/", json=body, headers=headers)
    assert response.status_code in (404, 409, 422), response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    chinese = await client.post(
        "/mp/returns/", json=body, headers={**headers, "Accept-Language": "zh-CN"}
    )
    english = await client.post(
        "/mp/returns/", json=body, headers={**headers, "Accept-Language": "en"}
    )
    assert chinese.json()["title"] != english.json()["title"]
    return {"status": response.status_code, **problem}


async def test_bad_input_is_refused_in_both_languages_with_nothing_written(
    client: Client, db: Database, settings: Settings, shipped: Shipped
) -> None:
    shop = shipped.shop
    unshipped = await place_and_ship(db, shop, [("W-550", 5), ("TEA", 1)], [("W-550", 5)])
    other = await make_shop(db, settings, with_world=False)
    foreign = await place_and_ship(db, shop, [("W-550", 1)])
    pdf = await upload_photo(settings, shop, PDF)
    cases = {
        "return_not_shipped": return_body(unshipped, [(1, 1)]),
        "return_exceeds_shipped": return_body(shipped.order_id, [(0, 11)]),
        "return_photo_not_image": return_body(shipped.order_id, [(0, 1)], photoIds=[pdf]),
        "upload_missing": return_body(shipped.order_id, [(0, 1)], photoIds=[str(uuid.uuid4())]),
    }
    for code, body in cases.items():
        problem = await _refused(client, shop.headers, body)
        assert problem["code"] == code, problem
    problem = await _refused(client, other.headers, return_body(foreign, [(0, 1)]))
    assert (problem["status"], problem["code"]) == (404, "order_not_found")
    mine = return_body(shipped.order_id, [(0, 1)])
    assert (await client.post("/mp/returns/", json=mine, headers=shop.headers)).status_code == 201
    peek = await client.get(f"/mp/returns/{mine['id']}", headers=other.headers)
    assert peek.status_code == 404 and peek.json()["code"] == "return_not_found"
    theirs = await client.get("/mp/returns/", headers=other.headers)
    assert theirs.json()["items"] == []
    window = await client.put("/hq/return-settings/window", json={"windowDays": 0}, headers=shop.hq)
    assert window.json() == {"windowDays": 0}
    problem = await _refused(client, shop.headers, return_body(shipped.order_id, [(0, 1)]))
    assert problem["code"] == "return_window_passed"
    async with db.session() as s:  # only the one accepted above
        assert await s.scalar(select(func.count()).select_from(ReturnRequest)) == 1


async def test_same_id_other_content_is_a_conflict(client: Client, shipped: Shipped) -> None:
    shop = shipped.shop
    body = return_body(shipped.order_id, [(0, 1)])
    assert (await client.post("/mp/returns/", json=body, headers=shop.headers)).status_code == 201
    changed = {**body, "lines": [{"line": 0, "qty": 2}]}
    response = await client.post("/mp/returns/", json=changed, headers=shop.headers)
    assert response.status_code == 409 and response.json()["code"] == "return_id_reused"


async def test_presign_takes_images_only(client: Client, shipped: Shipped) -> None:
    shop = shipped.shop
    photo = str(uuid.uuid4())
    ok = await client.post(
        "/mp/returns/photos/presign",
        json={"photoId": photo, "contentType": "image/png"},
        headers=shop.headers,
    )
    assert ok.status_code == 200 and ok.json()["key"].endswith(photo)
    refused = await client.post(
        "/mp/returns/photos/presign",
        json={"photoId": photo, "contentType": "application/pdf"},
        headers=shop.headers,
    )
    assert refused.status_code == 422 and refused.json()["code"] == "return_photo_not_image"
