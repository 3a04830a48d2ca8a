"""Demo-like data for the console's browser tests: the demo seed, a claim in review whose
receipt was read into boxes, a duplicate of it, an order held for review, a pilot promotion,
and a dealer ERP webhook whose one delivery failed and was given up.

Receipts are drawn here (so the boxes' positions are known) and read by a stand-in for the
OCR engine that returns those boxes; everything else goes through the real API.
"""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image, ImageDraw, ImageFont

from ocr import (
    LineItem,
    ReceiptFields,
    ReceiptScan,
    TextLine,
    content_fingerprint,
    decode_image,
    image_hash,
)
from ocr.synth import available_fonts
from server.app import create_app, job_registry
from server.db.engine import Database
from server.demo import seed
from server.jobs.queue import JobRunner
from server.notifications import install_notifications
from server.settings import Settings
from server.storage.backends import create_storage
from server.trail import install_trail
from sync import WebhookPolicy, deliver_due_webhooks, webhook_deliveries

PASSWORD = "channelhub-demo"
SKU = "SKU00001"


class World(msgspec.Struct, kw_only=True):
    """What the tests look for on the pages."""

    review_claim: str
    duplicate_claim: str
    second_review_claim: str
    review_order: str
    sku_name: str
    pilot_promotion: str
    webhook: str
    dead_delivery: str
    invoice_request: str
    credit_run: str


def today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def draw_receipt(rows: list[str], shade: int = 255) -> tuple[bytes, list[TextLine]]:
    """A white receipt with these rows of text, and each row's box as the OCR would find it."""
    font_path, index = available_fonts()[0]
    font = ImageFont.truetype(font_path, 26, index=index)
    image = Image.new("RGB", (480, 90 + 48 * len(rows)), (shade, shade, shade - 10))
    draw = ImageDraw.Draw(image)
    lines: list[TextLine] = []
    for i, text in enumerate(rows):
        x, y = 30, 40 + 48 * i
        left, top, right, bottom = draw.textbbox((x, y), text, font=font)
        draw.text((x, y), text, fill=(20, 20, 20), font=font)
        box = (
            (left - 4.0, top - 4.0),
            (right + 4.0, top - 4.0),
            (right + 4.0, bottom + 4.0),
            (left - 4.0, bottom + 4.0),
        )
        lines.append(TextLine(text=text, box=box, score=0.96))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue(), lines


class DrawnReader:
    """Stands in for the OCR engine: returns the rows and fields each drawn receipt carries."""

    def __init__(self) -> None:
        self.known: list[tuple[str, ReceiptFields, list[TextLine]]] = []

    def register(self, data: bytes, lines: list[TextLine], fields: ReceiptFields) -> bytes:
        self.known.append((image_hash(decode_image(data)), fields, lines))
        return data

    async def __call__(self, data: bytes) -> ReceiptScan:
        image = decode_image(data)
        found = image_hash(image)
        _, fields, lines = next(k for k in self.known if k[0] == found)
        return ReceiptScan(
            fields=fields,
            lines=tuple(lines),
            confidence=0.95,
            elapsed_ms=1,
            engine="drawn",
            image_hash=found,
            fingerprint=content_fingerprint(fields),
            width=image.width,
            height=image.height,
        )


def receipt(
    reader: DrawnReader, sku_name: str, number: str, total: int, shade: int = 255, extra: int = 0
) -> bytes:
    """A drawn receipt for two units of the SKU; ``extra`` rows make it look different."""
    day = today()
    yuan = f"{total // 100}.{total % 100:02d}"
    rows = ["联华超市（西湖店）", f"小票号: {number}", f"日期: {day.isoformat()} 10:32"]
    rows += ["地址: 杭州市西湖区文三路 88 号", "收银员: 07 号", "会员卡: 6222****1234"][:extra]
    rows += [f"{sku_name} x2  {yuan}", f"合计: {yuan}", "谢谢惠顾"]
    data, lines = draw_receipt(rows, shade)
    fields = ReceiptFields(
        merchant="联华超市（西湖店）",
        date=day,
        receipt_no=number,
        total=total,
        currency="CNY",
        items=(LineItem(name=sku_name, qty=Decimal(2), amount=total),),
        field_scores={"total": 0.98, "date": 0.97},
    )
    return reader.register(data, lines, fields)


async def _json(response: Any, status: int | None = None) -> Any:
    assert response.status_code < 300 if status is None else response.status_code == status, (
        response.text
    )
    return response.json()


async def run_jobs(settings: Settings, reader: DrawnReader) -> None:
    """Read the submitted receipts with the stand-in reader, as the worker would."""
    database = Database(settings.database)
    install_notifications(database)  # as the worker does: events and decisions join at commit
    install_trail(database)
    storage = create_storage(settings.storage, settings.public_base_url, settings.auth.jwt_secret)
    try:
        await JobRunner(database, job_registry(storage, reader)).drain()
    finally:
        await database.dispose()


PILOT = {
    "code": "MJ-PILOT",
    "name": "满万减百试点",
    "mechanic": {"kind": "tiered", "tiers": [{"threshold": 10_000_000, "discount": 10_000}]},
    "eligibility": {"skus": [SKU]},
    "budget": {"amount": 500_000},
    "pilotShareBp": 5000,
}
ERP_URL = "http://127.0.0.1:9/erp"  # the discard port: nothing listens, every attempt fails


async def fail_a_webhook_delivery(settings: Settings) -> str:
    """Send the ERP's first delivery once, with no retries: it is given up (dead)."""
    database = Database(settings.database)
    try:
        async with httpx.AsyncClient() as http:
            await deliver_due_webhooks(
                database.sessionmaker, http, policy=WebhookPolicy(max_attempts=1, timeout=2)
            )
        async with database.sessionmaker() as session:
            dead = await webhook_deliveries(session, status="dead")
    finally:
        await database.dispose()
    assert len(dead) == 1, dead
    return dead[0].event_id


async def request_an_invoice(
    client: AsyncTestClient[Litestar], hq: dict[str, str], dealer: dict[str, str]
) -> dict[str, Any]:
    """An order of dealer01's shipped whole, and its invoice requested."""
    order_id = str(uuid.uuid4())
    body = {"id": order_id, "lines": [{"sku": SKU, "qty": 3}]}
    await _json(await client.post("/mp/orders", json=body, headers=dealer), 201)
    await _json(await client.post(f"/hq/orders/{order_id}/allocate", headers=hq))
    shipment = {"carrier": "顺丰", "trackingNo": "SF100200300"}
    await _json(
        await client.post(f"/hq/orders/{order_id}/shipments", json=shipment, headers=hq), 201
    )
    title = {"companyName": "杭州西湖商贸有限公司", "taxId": "91350100M000100Y43"}
    made = await _json(await client.post("/mp/invoice-titles", json=title, headers=dealer), 201)
    request = {"id": str(uuid.uuid4()), "titleId": made["id"], "orderIds": [order_id]}
    return await _json(await client.post("/mp/invoices", json=request, headers=dealer), 201)


async def request_a_credit_raise(client: AsyncTestClient[Litestar], hq: dict[str, str]) -> str:
    """HQ's credit limit flow (operators approve raises), and a raise for dealer D002 waiting."""
    flow = {"steps": [{"name": "风控", "approverRole": "hq_operator", "reasons": ["increase"]}]}
    await _json(await client.put("/hq/approval-flows/credit_limit", json=flow, headers=hq))
    dealers = await _json(await client.get("/hq/dealers", headers=hq))
    dealer_id = next(d["id"] for d in dealers["items"] if d["code"] == "D002")
    body = {"limit": 888_888_800, "reason": "旺季备货"}
    asked = await _json(
        await client.post(
            f"/hq/dealers/{dealer_id}/accounts/credit-limit-requests", json=body, headers=hq
        )
    )
    assert asked["applied"] is False, asked
    return str(asked["approval"]["id"])


async def build(settings: Settings) -> World:
    """Seed the demo, then make the claims and the order the tests review."""
    await seed(settings, PASSWORD)
    reader = DrawnReader()
    app = create_app(settings)
    async with AsyncTestClient(app, base_url=settings.public_base_url) as client:
        hq_tokens = await _json(
            await client.post("/auth/login", json={"username": "hq", "password": PASSWORD})
        )
        hq = {"authorization": f"Bearer {hq_tokens['accessToken']}"}
        dealer_tokens = await _json(
            await client.post("/mp/auth/dev-login", json={"username": "dealer01"})
        )
        dealer = {"authorization": f"Bearer {dealer_tokens['accessToken']}"}
        skus = await _json(await client.get("/hq/catalog/skus", params={"q": SKU}, headers=hq))
        sku_name = next(s["name"] for s in skus["items"] if s["code"] == SKU)
        promo = await _json(
            await client.post(
                "/hq/promotions",
                json={
                    "code": "SO-TEST",
                    "name": "春季饮料核销",
                    "mechanic": {
                        "kind": "sell_out",
                        "amount": 5000,
                        "autoApproveLimit": 1000,
                        "maxImages": 3,
                        "minTotal": 1000,
                        "minQty": 2,
                    },
                    "eligibility": {"skus": [SKU]},
                    "startsOn": str(today() - timedelta(days=10)),
                    "endsOn": str(today() + timedelta(days=10)),
                },
                headers=hq,
            ),
            201,
        )
        await _json(await client.post(f"/hq/promotions/{promo['id']}/publish", headers=hq))
        claims = []
        for number, shade, extra in (("R-1001", 255, 0), ("R-1001", 235, 0), ("R-2002", 250, 3)):
            claim = await _json(
                await client.post(
                    "/mp/claims",
                    json={"id": str(uuid.uuid4()), "promotionId": promo["id"]},
                    headers=dealer,
                ),
                201,
            )
            image = receipt(reader, sku_name, number, 3000, shade, extra)
            await _json(
                await client.post(
                    f"/mp/claims/{claim['id']}/receipts",
                    files={"file": ("r.png", image, "image/png")},
                    headers=dealer,
                )
            )
            await _json(await client.post(f"/mp/claims/{claim['id']}/submit", headers=dealer))
            await run_jobs(settings, reader)
            claims.append(claim["id"])
        pilot = await _json(
            await client.post(
                "/hq/promotions",
                json={
                    **PILOT,
                    "startsOn": str(today() - timedelta(days=6)),
                    "endsOn": str(today() + timedelta(days=20)),
                },
                headers=hq,
            ),
            201,
        )
        await _json(await client.post(f"/hq/promotions/{pilot['id']}/publish", headers=hq))
        webhook = await _json(
            await client.post(
                "/hq/sync/webhooks", json={"url": ERP_URL, "scopes": ["price:default"]}, headers=hq
            ),
            201,
        )
        invoice = await request_an_invoice(client, hq, dealer)
        credit_run = await request_a_credit_raise(client, hq)
        await _json(
            await client.put(
                "/hq/order-settings/approval-threshold", json={"approvalThreshold": 1}, headers=hq
            )
        )
        order = await _json(
            await client.post(
                "/mp/orders",
                json={"id": str(uuid.uuid4()), "lines": [{"sku": SKU, "qty": 2}]},
                headers=dealer,
            ),
            201,
        )
        assert order["status"] == "submitted", order
    dead_delivery = await fail_a_webhook_delivery(settings)
    return World(
        review_claim=claims[0],
        duplicate_claim=claims[1],
        second_review_claim=claims[2],
        review_order=order["id"],
        sku_name=sku_name,
        pilot_promotion=pilot["id"],
        webhook=webhook["endpointId"],
        dead_delivery=dead_delivery,
        invoice_request=invoice["id"],
        credit_run=credit_run,
    )
