"""A received return of invoiced goods asks for a red-letter invoice (红字发票), once."""

from __future__ import annotations

import uuid

from server.db.engine import Database
from server.settings import Settings
from tests.invoices.conftest import add_title, shipped_order, upload_pdf
from tests.orders.conftest import Shop, make_shop
from tests.returns.conftest import Client, return_body


async def test_returning_invoiced_goods_reverses_their_invoice(
    client: Client, db: Database, settings: Settings
) -> None:
    shop: Shop = await make_shop(db, settings)
    title = await add_title(client, shop)
    order = await shipped_order(client, shop, [{"sku": "TEA", "qty": 3}], ship=None)  # 1197
    blue = await client.post(
        "/mp/invoices",
        json={"id": str(uuid.uuid4()), "titleId": title["id"], "orderIds": [order["id"]]},
        headers=shop.headers,
    )
    assert blue.status_code == 201, blue.text
    assert await upload_pdf(client, shop, blue.json()["id"]) == 204
    issued = await client.post(
        f"/hq/invoices/{blue.json()['id']}/issue", json={"number": "87654321"}, headers=shop.hq
    )
    assert issued.status_code == 200, issued.text
    body = return_body(uuid.UUID(order["id"]), [(0, 1)])
    assert (await client.post("/mp/returns/", json=body, headers=shop.headers)).status_code == 201
    await client.post(f"/hq/returns/{body['id']}/approve", json={}, headers=shop.hq)
    received = await client.post(
        f"/hq/returns/{body['id']}/receive", json={"disposition": "sellable"}, headers=shop.hq
    )
    assert received.json()["refund"] == 399, received.text
    reds = (await client.get("/mp/invoices", params={"kind": "red"}, headers=shop.headers)).json()
    assert [(i["amount"], i["status"]) for i in reds["items"]] == [(399, "requested")]
