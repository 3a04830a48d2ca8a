"""Orders placed from a quote: its prices are honoured until it expires; one order per quote."""

from __future__ import annotations

import uuid
from datetime import timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.db.base import utcnow
from server.db.engine import Database
from server.db.session import transaction
from server.quotes.models import Quote
from tests.orders.conftest import Shop

Client = AsyncTestClient[Litestar]


async def make_quote(client: Client, shop: Shop) -> str:
    body = {"lines": [{"sku": "W-550", "qty": 10, "requestedUnitPrice": 96}]}
    response = await client.post("/mp/quotes", json=body, headers=shop.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_order_from_quote_uses_its_prices_and_converts_it(
    client: Client, db: Database, shop: Shop
) -> None:
    quote_id = await make_quote(client, shop)
    body = {"id": str(uuid.uuid4()), "quoteId": quote_id}
    response = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert response.status_code == 201, response.text
    assert (response.json()["amount"], response.json()["quoteId"]) == (960, quote_id)
    quote = (await client.get(f"/mp/quotes/{quote_id}", headers=shop.headers)).json()
    assert quote["status"] == "converted"
    twice = await client.post(
        "/mp/orders", json={"id": str(uuid.uuid4()), "quoteId": quote_id}, headers=shop.headers
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "quote_already_ordered")
    both = await client.post(
        "/mp/orders",
        json={"id": str(uuid.uuid4()), "quoteId": quote_id, "lines": [{"sku": "TEA", "qty": 1}]},
        headers=shop.headers,
    )
    assert (both.status_code, both.json()["code"]) == (422, "order_source_invalid")


async def test_an_expired_quote_cannot_be_ordered(client: Client, db: Database, shop: Shop) -> None:
    quote_id = await make_quote(client, shop)
    async with transaction(db) as s:
        quote = await s.get(Quote, uuid.UUID(quote_id))
        assert quote is not None
        quote.valid_until = utcnow() - timedelta(minutes=1)
    response = await client.post(
        "/mp/orders", json={"id": str(uuid.uuid4()), "quoteId": quote_id}, headers=shop.headers
    )
    assert (response.status_code, response.json()["code"]) == (409, "quote_expired")
