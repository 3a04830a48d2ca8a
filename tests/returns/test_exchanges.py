"""An exchange (换货): a return whose receipt places a replacement order at the original's
paid prices, linked to it; money back to the sources and held again for the replacement."""

from __future__ import annotations

import uuid

from server.accounts import dealer_balances, ledger_faults
from server.db.engine import Database
from server.orders.service import get_order
from server.returns.receiving import replacement_id
from tests.factories import make_price_list
from tests.returns.conftest import Client, Shipped, return_body


async def test_exchange_places_a_replacement_at_the_original_prices(
    client: Client, db: Database, shipped: Shipped
) -> None:
    shop = shipped.shop
    # Prices rise after the order (a list of higher priority): the replacement keeps the
    # prices paid.
    await make_price_list(db, "RISE", {"W-550": 150, "TEA": 499}, priority=10)
    body = return_body(shipped.order_id, [(0, 2), (1, 1)], exchange=True, reason="quality")
    created = await client.post("/mp/returns/", json=body, headers=shop.headers)
    assert created.status_code == 201 and created.json()["exchange"] is True
    await client.post(f"/hq/returns/{body['id']}/approve", json={}, headers=shop.hq)
    async with db.session() as s:
        held_before = (await dealer_balances(s, shop.dealer.id)).held
    received = await client.post(
        f"/hq/returns/{body['id']}/receive", json={"disposition": "quarantine"}, headers=shop.hq
    )
    assert received.status_code == 200, received.text
    out = received.json()
    replacement = str(replacement_id(uuid.UUID(body["id"])))
    assert out["exchangeOrderId"] == replacement and out["refund"] == 200 + 399
    assert replacement in out["explanation"]["zh"] and replacement in out["explanation"]["en"]
    order = await client.get(f"/mp/orders/{replacement}", headers=shop.headers)
    assert order.status_code == 200, order.text
    lines = [(ln["sku"], ln["qty"], ln["unitPrice"], ln["amount"]) for ln in order.json()["lines"]]
    assert lines == [("W-550", 2, 100, 200), ("TEA", 1, 399, 399)]
    assert order.json()["amount"] == 599 and order.json()["status"] == "approved"
    async with db.session() as s:
        balances = await dealer_balances(s, shop.dealer.id)
        assert balances.held == held_before + 599  # refunded, then held for the replacement
        assert (await get_order(s, shipped.order_id)).status == "shipped"
        assert await ledger_faults(s) == []
