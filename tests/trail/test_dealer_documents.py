"""A dealer reads the trail entries of its own documents, and only of its own."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.db.engine import Database
from server.settings import Settings
from tests.invoices.conftest import add_title, shipped_order
from tests.orders.conftest import fund, make_shop
from tests.orders.test_orders_api import order_body

Client = AsyncTestClient[Litestar]


async def entries(client: Client, headers: dict[str, str], kind: str, doc: object) -> list[str]:
    response = await client.get(f"/mp/decisions/{kind}/{doc}", headers=headers)
    assert response.status_code == 200, response.text
    return [f"{e['outcome']}/{e['role']}" for e in response.json()["items"]]


async def test_a_dealer_reads_its_own_documents_entries_only(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings)
    other = await make_shop(db, settings, with_world=False)
    body = order_body()
    placed = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert placed.json()["status"] == "approved"
    cancel = await client.post(f"/mp/orders/{body['id']}/cancel", json={}, headers=shop.headers)
    assert cancel.status_code == 200
    # The automatic approval applied HQ's rule (no entry); the cancellation is the dealer's.
    assert await entries(client, shop.headers, "order", body["id"]) == ["cancelled/dealer_admin"]
    page = (await client.get(f"/mp/decisions/order/{body['id']}", headers=shop.headers)).json()
    assert all(len(e["hash"]) == 64 and len(e["prevHash"]) == 64 for e in page["items"])
    foreign = await client.get(f"/mp/decisions/order/{body['id']}", headers=other.headers)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "order_not_found")
    await fund(db, shop.dealer.id, credit=50_000)
    assert await entries(client, shop.headers, "credit_limit", shop.dealer.id) == [
        "changed/hq_admin"
    ]
    theirs = await client.get(f"/mp/decisions/credit_limit/{shop.dealer.id}", headers=other.headers)
    assert theirs.status_code == 404
    unknown = await client.get(f"/mp/decisions/quote/{uuid.uuid4()}", headers=shop.headers)
    assert unknown.status_code == 404
    hq_only = await client.get(f"/mp/decisions/price_list/{uuid.uuid4()}", headers=shop.headers)
    assert hq_only.status_code in (400, 404, 422)
    assert (
        await client.get(f"/mp/decisions/order/{body['id']}", headers=shop.hq)
    ).status_code == 403


async def test_a_dealer_reads_the_entries_of_an_announcement_for_it_even_once_withdrawn(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings)
    created = await client.post(
        "/hq/announcements",
        json={"titleZh": "通知", "bodyZh": "内容", "audience": "tiers", "targets": ["core"]},
        headers=shop.hq,
    )
    a = created.json()
    await client.post(f"/hq/announcements/{a['id']}/publish", headers=shop.hq)
    await client.post(f"/hq/announcements/{a['id']}/withdraw", headers=shop.hq)
    assert await entries(client, shop.headers, "announcement", a["id"]) == [
        "withdrawn/hq_admin",
        "published/hq_admin",
    ]
    growth = await make_shop(db, settings, tier="growth", with_world=False)
    refused = await client.get(f"/mp/decisions/announcement/{a['id']}", headers=growth.headers)
    assert refused.status_code == 404


async def test_a_dealer_reads_the_entries_of_its_invoices(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings)
    other = await make_shop(db, settings, with_world=False)
    order = await shipped_order(client, shop, [{"sku": "W-550", "qty": 10}], ship=None)
    title = await add_title(client, shop)
    body = {"id": str(uuid.uuid4()), "titleId": title["id"], "orderIds": [order["id"]]}
    requested = await client.post("/mp/invoices", json=body, headers=shop.headers)
    assert requested.status_code == 201, requested.text
    rejected = await client.post(
        f"/hq/invoices/{body['id']}/reject", json={"reason": "抬头有误"}, headers=shop.hq
    )
    assert rejected.status_code == 200, rejected.text
    assert await entries(client, shop.headers, "invoice", body["id"]) == ["rejected/hq_admin"]
    theirs = await client.get(f"/mp/decisions/invoice/{body['id']}", headers=other.headers)
    assert theirs.status_code == 404
