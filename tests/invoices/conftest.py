"""A dealer with shipped goods to invoice (the orders' shop, with rebate to spend)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.db.engine import Database
from server.settings import Settings
from tests.orders.conftest import Shop, make_shop

Client = AsyncTestClient[Litestar]
USCC = "91350100M000100Y43"  # a unified social credit code with a valid check character
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
async def shop(db: Database, settings: Settings) -> Shop:
    return await make_shop(db, settings)


async def add_title(client: Client, shop: Shop, **extra: Any) -> dict[str, Any]:
    body = {"companyName": "杭州某某商贸有限公司", "taxId": USCC, **extra}
    answer = await client.post("/mp/invoice-titles", json=body, headers=shop.headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def shipped_order(
    client: Client, shop: Shop, lines: list[dict[str, Any]], *, ship: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """An order placed, allocated and shipped (``ship``: those lines only; None: all)."""
    body = {"id": str(uuid.uuid4()), "lines": lines}
    placed = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert placed.status_code == 201, placed.text
    order_id = body["id"]
    await client.post(f"/hq/orders/{order_id}/allocate", headers=shop.hq)
    shipment: dict[str, Any] = {"carrier": "顺丰", "trackingNo": f"SF{uuid.uuid4().hex[:8]}"}
    if ship is not None:
        shipment["lines"] = ship
    shipped = await client.post(f"/hq/orders/{order_id}/shipments", json=shipment, headers=shop.hq)
    assert shipped.status_code == 201, shipped.text
    return shipped.json()


async def upload_pdf(client: Client, shop: Shop, invoice_id: str, data: bytes = PDF) -> int:
    """Post a file with the invoice's presigned form; the storage's answer status."""
    form = await client.post(f"/hq/invoices/{invoice_id}/pdf/presign", headers=shop.hq)
    assert form.status_code == 200, form.text
    posted = await client.post(
        "/storage/upload",
        data=form.json()["fields"],
        files={"file": ("invoice.pdf", data, "application/pdf")},
    )
    return posted.status_code
