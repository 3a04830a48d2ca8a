"""Quotes: snapshot, thresholds per tier, approval state machine, expiry, scoping, PDF."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from server.audit.models import AuditEvent
from server.db.base import utcnow
from server.db.engine import Database
from server.db.session import transaction
from server.identity.models import Role
from server.quotes import pdf
from server.quotes.models import Quote
from server.settings import Settings
from tests.factories import (
    bearer,
    make_dealer,
    make_price_list,
    make_sku,
    make_tiers,
    make_user,
    trail_of,
)

Client = AsyncTestClient[Litestar]


async def _setup(db: Database, settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    await make_tiers(db)
    await make_sku(db, "A", "农夫山泉天然水 550ml")
    await make_sku(db, "B", "康师傅红烧牛肉面")
    await make_price_list(db, "PL-DEF", {"A": (1000, [(10, 900)]), "B": 500})
    dealer = await make_dealer(db, tier="core")
    dealer_headers = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=dealer))
    hq = bearer(settings, await make_user(db, Role.HQ_OPERATOR))
    return dealer_headers, hq


async def test_quote_within_thresholds_is_accepted_directly(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer, _ = await _setup(db, settings)
    quote_id = str(uuid.uuid4())
    body = {
        "id": quote_id,
        "lines": [{"sku": "A", "qty": 10}, {"sku": "B", "qty": 4, "requestedUnitPrice": 480}],
    }
    created = await client.post("/mp/quotes", json=body, headers=dealer)
    assert created.status_code == 201, created.text
    quote = created.json()
    assert (quote["status"], quote["needsApproval"], quote["policyAmount"], quote["amount"]) == (
        "draft",
        False,
        11000,
        10920,
    )
    assert quote["snapshot"]["totals"]["payable"] == 11000
    assert quote["lines"][1]["extraDiscountBp"] == 400
    valid = quote["validUntil"]
    retry = await client.post("/mp/quotes", json=body, headers=dealer)
    assert (retry.json()["id"], retry.json()["validUntil"]) == (
        quote_id,
        valid,
    )  # same quote, not a second
    not_needed = await client.post(
        f"/mp/quotes/{quote_id}/request-approval", json={}, headers=dealer
    )
    assert (not_needed.status_code, not_needed.json()["code"]) == (409, "approval_not_required")
    accepted = await client.post(f"/mp/quotes/{quote_id}/accept", headers=dealer)
    assert (accepted.status_code, accepted.json()["status"]) == (200, "converted")
    again = await client.post(f"/mp/quotes/{quote_id}/accept", headers=dealer)
    assert (again.status_code, again.json()["code"]) == (409, "quote_state")
    # The quote's state is a member of its own; `status` stays the HTTP status (RFC 9457).
    assert (again.json()["status"], again.json()["state"]) == (409, "converted")


async def test_discount_above_tier_threshold_needs_hq_approval(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer, hq = await _setup(db, settings)
    admin = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    forbidden = await client.put(
        "/hq/quote-thresholds/core",
        json={"lineDiscountBp": 500, "quoteDiscountBp": 300},
        headers=hq,
    )
    assert forbidden.status_code == 403  # operators approve; only admins set thresholds
    set_ = await client.put(
        "/hq/quote-thresholds/core",
        json={"lineDiscountBp": 500, "quoteDiscountBp": 300},
        headers=admin,
    )
    assert set_.status_code == 200, set_.text
    body = {"lines": [{"sku": "A", "qty": 10, "requestedUnitPrice": 800}, {"sku": "B", "qty": 2}]}
    quote = (await client.post("/mp/quotes", json=body, headers=dealer)).json()
    assert quote["needsApproval"] is True
    assert quote["approvalReasons"] == ["line_discount_above_limit", "discount_above_limit"]
    assert [n["message"] for n in quote["approvalNotes"]] == [
        "第 1 行 A 的额外折扣 11.12% 超过上限 5%",
        "整单额外折扣 10% 超过上限 3%",
    ]
    assert quote["approvalNotes"][0]["en"] == (
        "Line 1 (A): extra discount 11.12% is above the limit 5%"
    )
    qid = quote["id"]
    early = await client.post(f"/mp/quotes/{qid}/accept", headers=dealer)
    assert (early.status_code, early.json()["code"]) == (409, "approval_required")
    not_pending = await client.post(f"/hq/quotes/{qid}/approve", json={}, headers=hq)
    assert (not_pending.status_code, not_pending.json()["code"]) == (409, "quote_state")
    assert not_pending.json()["title"] == "报价单当前为草稿，不能批准"
    submitted = await client.post(
        f"/mp/quotes/{qid}/request-approval", json={"comment": "大客户开业"}, headers=dealer
    )
    assert submitted.json()["status"] == "pending_approval"
    assert (
        await client.post(f"/hq/quotes/{qid}/approve", json={}, headers=dealer)
    ).status_code == 403
    queue = await client.get("/hq/quotes", params={"status": "pending_approval"}, headers=hq)
    assert [q["id"] for q in queue.json()["items"]] == [qid]
    bare_reject = await client.post(f"/hq/quotes/{qid}/reject", json={"comment": " "}, headers=hq)
    assert (bare_reject.status_code, bare_reject.json()["code"]) == (422, "comment_required")
    assert [(e["key"], e["message"], e["en"]) for e in bare_reject.json()["errors"]] == [
        ("comment", "请填写驳回意见", "Required to reject")
    ]
    approved = await client.post(
        f"/hq/quotes/{qid}/approve", json={"comment": "同意，限本月"}, headers=hq
    )
    assert approved.json()["status"] == "approved"
    accepted = await client.post(f"/mp/quotes/{qid}/accept", headers=dealer)
    assert accepted.json()["status"] == "converted"
    assert [(d["action"], d["comment"]) for d in accepted.json()["decisions"]] == [
        ("created", ""),
        ("submitted", "大客户开业"),
        ("approved", "同意，限本月"),
        ("accepted", ""),
    ]
    async with transaction(db) as s:
        actions = (
            (
                await s.execute(
                    select(AuditEvent.action)
                    .where(AuditEvent.entity_id == qid)
                    .order_by(AuditEvent.at)
                )
            )
            .scalars()
            .all()
        )
    assert actions == ["quote.created", "quote.submitted", "quote.approved", "quote.accepted"]
    assert await trail_of(client, hq, "quote", qid) == [
        ("approved", "hq_operator", "同意，限本月"),
        ("accepted", "dealer_admin", ""),
    ]


async def test_rejected_quote_cannot_be_accepted(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer, hq = await _setup(db, settings)
    quote = (
        await client.post(
            "/mp/quotes",
            json={"lines": [{"sku": "B", "qty": 10, "requestedUnitPrice": 100}]},
            headers=dealer,
        )
    ).json()
    await client.post(f"/mp/quotes/{quote['id']}/request-approval", json={}, headers=dealer)
    rejected = await client.post(
        f"/hq/quotes/{quote['id']}/reject", json={"comment": "折扣过大"}, headers=hq
    )
    assert rejected.json()["status"] == "rejected"
    refused = await client.post(f"/mp/quotes/{quote['id']}/accept", headers=dealer)
    assert (refused.status_code, refused.json()["code"]) == (409, "quote_state")
    assert await trail_of(client, hq, "quote", quote["id"]) == [
        ("rejected", "hq_operator", "折扣过大")
    ]


async def test_expired_quote_is_refused_and_stays_expired(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer, _ = await _setup(db, settings)
    quote = (
        await client.post(
            "/mp/quotes", json={"lines": [{"sku": "B", "qty": 1}], "validDays": 1}, headers=dealer
        )
    ).json()
    async with transaction(db) as s:
        await s.execute(
            update(Quote)
            .where(Quote.id == uuid.UUID(quote["id"]))
            .values(valid_until=utcnow() - timedelta(minutes=1))
        )
    shown = await client.get(f"/mp/quotes/{quote['id']}", headers=dealer)
    assert shown.json()["status"] == "expired"
    refused = await client.post(f"/mp/quotes/{quote['id']}/accept", headers=dealer)
    assert (refused.status_code, refused.json()["code"]) == (409, "quote_expired")
    async with transaction(db) as s:
        stored = await s.get(Quote, uuid.UUID(quote["id"]))
        assert stored is not None
        assert stored.status == "expired"


async def test_another_dealers_quote_is_not_found(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer, hq = await _setup(db, settings)
    quote = (
        await client.post("/mp/quotes", json={"lines": [{"sku": "B", "qty": 1}]}, headers=dealer)
    ).json()
    other = bearer(
        settings, await make_user(db, Role.DEALER_ADMIN, dealer=await make_dealer(db, tier="core"))
    )
    for method, path in (("GET", ""), ("POST", "/accept"), ("GET", "/pdf")):
        response = await client.request(method, f"/mp/quotes/{quote['id']}{path}", headers=other)
        assert response.status_code == 404, (method, path)
    assert (await client.get("/mp/quotes", headers=other)).json()["items"] == []
    assert (await client.get(f"/hq/quotes/{quote['id']}", headers=hq)).status_code == 200


async def test_quote_of_a_bad_cart_is_refused_line_by_line(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer, _ = await _setup(db, settings)
    bad = await client.post(
        "/mp/quotes",
        json={"lines": [{"sku": "A", "qty": 0}, {"sku": "B", "qty": 1, "requestedUnitPrice": 600}]},
        headers=dealer,
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "cart_invalid")
    above = await client.post(
        "/mp/quotes",
        json={"lines": [{"sku": "B", "qty": 1, "requestedUnitPrice": 600}]},
        headers=dealer,
    )
    assert (above.status_code, above.json()["errors"][0]["code"]) == (
        422,
        "requested_price_above_policy",
    )


async def test_quote_renders_as_a_pdf_in_chinese_and_english(
    client: Client, db: Database, settings: Settings
) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    dealer, hq = await _setup(db, settings)
    body = {"lines": [{"sku": "A", "qty": 12, "requestedUnitPrice": 500}]}
    quote = (await client.post("/mp/quotes", json=body, headers=dealer)).json()
    assert quote["needsApproval"] is True
    pdf = await client.get(f"/mp/quotes/{quote['id']}/pdf", headers=dealer)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and b"WenQuanYi" in pdf.content
    assert (await client.get(f"/hq/quotes/{quote['id']}/pdf", headers=hq)).status_code == 200
    document = pdfium.PdfDocument(pdf.content)
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    for zh, en in (
        ("报 价 单", "QUOTATION"),
        ("有效期至", "Valid until"),
        ("草稿", "(a draft)"),
        ("政策金额", "Policy"),
        ("报价合计", "Quoted total"),
        ("需审批原因", "Why HQ approves this quote"),
        (
            "第 1 行 A 的额外折扣 44.45% 超过上限 10%",
            "Line 1 (A): extra discount 44.45% is above the limit 10%",
        ),
        ("金额单位为人民币元", "Amounts are in yuan (CNY)"),
    ):
        assert zh in text and en in text, (zh, en, text.replace("\r\n", " | "))


async def test_missing_cjk_font_is_a_clear_503(
    client: Client, db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    dealer, _ = await _setup(db, settings)
    quote = (
        await client.post("/mp/quotes", json={"lines": [{"sku": "B", "qty": 1}]}, headers=dealer)
    ).json()
    monkeypatch.setattr(pdf, "FONT_PATHS", ("/nonexistent/font.ttc",))
    monkeypatch.delenv("CHANNELHUB_PDF_FONT", raising=False)
    response = await client.get(f"/mp/quotes/{quote['id']}/pdf", headers=dealer)
    assert (response.status_code, response.json()["code"]) == (503, "pdf_font_missing")


async def test_a_quote_beyond_32_bits_is_stored_on_both_databases(
    client: Client, db: Database, settings: Settings
) -> None:
    """10^9 units at 1,000 fen is 10^12 fen: the amounts are 64-bit columns (was a 500 on PG)."""
    dealer, _ = await _setup(db, settings)
    body = {"id": str(uuid.uuid4()), "lines": [{"sku": "A", "qty": 10**9}]}
    created = await client.post("/mp/quotes", json=body, headers=dealer)
    assert created.status_code == 201, created.text
    assert created.json()["listAmount"] == 10**12
    async with db.session() as s:
        quote = await s.get(Quote, uuid.UUID(body["id"]))
    assert quote is not None and quote.list_amount == 10**12
