"""Claims end to end: create, upload, OCR job, duplicates, decisions, review, payout once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from ocr.synth_shops import copy_of, make_shop, shop_receipt
from server.accounts.models import AccountKind, JournalEntry
from server.app import job_registry
from server.audit import AuditSearch, search_audit
from server.audit.models import AuditEvent
from server.claims.models import Claim
from server.claims.scanning import process_claim
from server.claims.service import pay_claim
from server.db.engine import Database
from server.db.session import transaction
from server.identity.models import Role
from server.jobs.queue import JobRunner, enqueue
from server.promotions.models import Promotion, PromotionBudget
from server.settings import Settings
from server.storage.backends import create_storage
from sync.tables import sync_change
from tests.claims.conftest import FakeReader, noise_image, today
from tests.factories import bearer, make_dealer, make_sku, make_user, trail_of

Client = AsyncTestClient[Litestar]
Headers = dict[str, str]


def storage_of(settings: Settings) -> Any:
    return create_storage(settings.storage, settings.public_base_url, settings.auth.jwt_secret)


async def run_jobs(db: Database, settings: Settings, reader: FakeReader) -> None:
    await JobRunner(db, job_registry(storage_of(settings), reader)).drain()


async def promotion(
    client: Client, hq: Headers, *, code: str = "SO1", publish: bool = True, **over: Any
) -> dict[str, Any]:
    mechanic = {
        "kind": "sell_out",
        "amount": 5000,
        "autoApproveLimit": 10000,
        "maxImages": 3,
        "minTotal": 1000,
        "minQty": 2,
        **over.pop("mechanic", {}),
    }
    body = {
        "code": code,
        "name": "春节促销核销",
        "mechanic": mechanic,
        "eligibility": {"skus": ["W550"], **over.pop("eligibility", {})},
        "startsOn": str(today() - timedelta(days=10)),
        "endsOn": str(today() + timedelta(days=10)),
        **over,
    }
    created = await client.post("/hq/promotions", json=body, headers=hq)
    assert created.status_code == 201, created.text
    promo = created.json()
    if publish:
        assert (
            await client.post(f"/hq/promotions/{promo['id']}/publish", headers=hq)
        ).status_code == 200
    return promo


async def dealer_headers(db: Database, settings: Settings, tier: str = "core") -> Headers:
    dealer = await make_dealer(db, tier=tier)
    return bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=dealer))


async def new_claim(
    client: Client, headers: Headers, promo: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    body = {"id": str(uuid.uuid4()), "promotionId": promo["id"], **extra}
    response = await client.post("/mp/claims", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def upload(
    client: Client, headers: Headers, claim: dict[str, Any], data: bytes, name: str = "r.png"
) -> Any:
    return await client.post(
        f"/mp/claims/{claim['id']}/receipts",
        files={"file": (name, data, "image/png")},
        headers=headers,
    )


async def submit_and_run(
    client: Client,
    headers: Headers,
    claim: dict[str, Any],
    db: Database,
    settings: Settings,
    reader: FakeReader,
) -> dict[str, Any]:
    response = await client.post(f"/mp/claims/{claim['id']}/submit", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "processing"
    await run_jobs(db, settings, reader)
    detail = await client.get(f"/mp/claims/{claim['id']}", headers=headers)
    assert detail.status_code == 200, detail.text
    return detail.json()


@pytest.fixture
async def setup(client: Client, db: Database, settings: Settings) -> tuple[Headers, Headers]:
    await make_sku(db, "W550")
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    return hq, await dealer_headers(db, settings)


async def balance(client: Client, headers: Headers) -> int:
    return (await client.get("/mp/accounts", headers=headers)).json()["rebate"]


async def test_a_clean_receipt_is_approved_and_paid_once(
    client: Client,
    db: Database,
    settings: Settings,
    reader: FakeReader,
    setup: tuple[Headers, Headers],
) -> None:
    hq, dealer = setup
    promo = await promotion(client, hq, budget={"amount": 20000})
    claim = await new_claim(client, dealer, promo, note="店铺 A")
    retry = await client.post(
        "/mp/claims", json={"id": claim["id"], "promotionId": promo["id"]}, headers=dealer
    )
    assert retry.status_code == 200
    assert retry.json()["id"] == claim["id"]
    uploaded = await upload(
        client, dealer, claim, reader.register(noise_image(1), receipt_no="A-1")
    )
    assert uploaded.status_code == 200, uploaded.text
    decided = await submit_and_run(client, dealer, claim, db, settings, reader)
    assert decided["status"] == "approved", decided["reasons"]
    assert (decided["decidedBy"], decided["approvedAmount"]) == ("auto", 5000)
    assert await trail_of(client, hq, "claim", claim["id"]) == [
        ("approved", "system", ""),
        ("paid", "system", ""),
    ]
    [receipt] = decided["receipts"]
    assert receipt["fields"]["receipt_no"] == "A-1"
    assert receipt["boxes"][0]["text"] == "联华超市"
    assert [e["kind"] for e in decided["history"]] == [
        "created",
        "receipt_attached",
        "submitted",
        "decided",
    ]
    assert await balance(client, dealer) == 5000
    async with db.session() as s:
        payout = select(JournalEntry.reason).where(
            JournalEntry.account_kind == AccountKind.REBATE,
            JournalEntry.reference == f"claim:{claim['id']}",
        )
        assert (await s.execute(payout)).scalars().all() == [
            "促销 SO1（春节促销核销）核销 / Claim payout, promotion SO1"
        ]
    budget = (await client.get(f"/hq/promotions/{promo['id']}/budget", headers=hq)).json()
    assert (budget[0]["usedAmount"], budget[0]["remainingAmount"]) == (5000, 15000)
    async with db.session() as s:
        scopes = set(
            (
                await s.execute(select(sync_change.c.scope).where(sync_change.c.entity == "claim"))
            ).scalars()
        )
    assert scopes == {f"dealer:{decided['dealerId']}"}

    # retried jobs and a repeated payment never pay twice
    claim_id = uuid.UUID(claim["id"])
    async with transaction(db) as s:
        await enqueue(s, "claims.scan", {"claim_id": claim["id"]})
        await enqueue(s, "claims.scan", {"claim_id": claim["id"]})
    await run_jobs(db, settings, reader)
    storage = storage_of(settings)
    await asyncio.gather(*(process_claim(db, storage, reader, claim_id) for _ in range(3)))
    async with transaction(db) as s:
        row = await s.get(Claim, claim_id)
        promo_row = await s.get(Promotion, uuid.UUID(promo["id"]))
        assert row is not None and promo_row is not None
        await pay_claim(s, row, promo_row, 5000, None)  # as if a job crashed and ran again
    assert await balance(client, dealer) == 5000
    async with db.session() as s:
        entries = (
            await s.execute(
                select(func.count())
                .select_from(JournalEntry)
                .where(JournalEntry.reference == f"claim:{claim_id}")
            )
        ).scalar_one()
        used = (
            await s.execute(select(PromotionBudget.used_amount, PromotionBudget.used_count))
        ).one()
        audited = (
            await s.execute(
                select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.data)
                .where(AuditEvent.entity == "claim", AuditEvent.entity_id == str(claim_id))
                .order_by(AuditEvent.action)
            )
        ).all()
    assert entries == 1
    assert tuple(used) == (5000, 1)
    # Decided and paid once, automatically (no person), in the audit trail too.
    assert [(a, who) for a, who, _ in audited] == [("claim.approved", None), ("claim.paid", None)]
    assert audited[0][2]["decidedBy"] == "auto"


async def test_the_same_receipt_by_two_dealers_is_rejected_and_an_edited_copy_named(
    client: Client,
    db: Database,
    settings: Settings,
    reader: FakeReader,
    setup: tuple[Headers, Headers],
) -> None:
    hq, dealer = setup
    other = await dealer_headers(db, settings)
    promo = await promotion(client, hq)
    photo = reader.register(noise_image(2), receipt_no="B-1001")
    first = await new_claim(client, dealer, promo)
    await upload(client, dealer, first, photo)
    assert (await submit_and_run(client, dealer, first, db, settings, reader))[
        "status"
    ] == "approved"

    # the same bytes from another dealer
    second = await new_claim(client, other, promo)
    await upload(client, other, second, photo)
    decided = await submit_and_run(client, other, second, db, settings, reader)
    assert decided["status"] == "rejected"
    [reason] = [r for r in decided["reasons"] if r["code"] == "duplicate_image"]
    assert reason["earlierClaimId"] == first["id"]
    assert first["id"] in reason["zh"]

    # another photo of the same till receipt (same shop and number)
    third = await new_claim(client, other, promo)
    await upload(client, other, third, reader.register(noise_image(3), receipt_no="B-1001"))
    decided = await submit_and_run(client, other, third, db, settings, reader)
    assert decided["status"] == "rejected"
    assert any(
        r["code"] == "duplicate_content" and r["earlierClaimId"] == first["id"]
        for r in decided["reasons"]
    )

    # the same paper with its total painted over: same shop and number, another total
    fourth = await new_claim(client, dealer, promo)
    await upload(
        client, dealer, fourth, reader.register(noise_image(4), receipt_no="B-1001", total=9000)
    )
    decided = await submit_and_run(client, dealer, fourth, db, settings, reader)
    assert decided["status"] == "rejected"
    [reason] = [r for r in decided["reasons"] if r["code"] == "duplicate_edited"]
    assert reason["earlierClaimId"] == first["id"]
    assert "90.00" in reason["en"] and "30.00" in reason["en"]


async def test_a_photo_matching_an_earlier_one_that_reads_differently_goes_to_review(
    client: Client,
    db: Database,
    settings: Settings,
    reader: FakeReader,
    setup: tuple[Headers, Headers],
) -> None:
    hq, dealer = setup
    promo = await promotion(client, hq)
    shop = make_shop(1)
    receipt = shop_receipt(shop, 0)
    photo = reader.register(receipt.image, receipt_no="C-2001")
    first = await new_claim(client, dealer, promo)
    await upload(client, dealer, first, photo)
    assert (await submit_and_run(client, dealer, first, db, settings, reader))[
        "status"
    ] == "approved"

    # the same paper re-encoded, where OCR misreads the number
    copy = copy_of(receipt, shop, "reencoded", seed=1)
    reader.exact[copy] = FakeReader.fields(receipt_no="C-2077")
    second = await new_claim(client, dealer, promo)
    await upload(client, dealer, second, copy)
    decided = await submit_and_run(client, dealer, second, db, settings, reader)
    assert decided["status"] == "review", decided["reasons"]
    [reason] = [r for r in decided["reasons"] if r["code"] == "image_matches_earlier"]
    assert reason["earlierClaimId"] == first["id"] and reason["severity"] == "review"
    assert "receipt_no" in reason["en"] and "C-2077" in reason["en"]


async def test_receipts_of_one_shop_are_not_duplicates_of_each_other(
    client: Client,
    db: Database,
    settings: Settings,
    reader: FakeReader,
    setup: tuple[Headers, Headers],
) -> None:
    hq, dealer = setup
    promo = await promotion(client, hq)
    shop = make_shop(0)
    for index in range(3):
        receipt = shop_receipt(shop, index)
        reader.exact[receipt.image] = FakeReader.fields(receipt_no=receipt.labels.receipt_no or "")
        claim = await new_claim(client, dealer, promo)
        await upload(client, dealer, claim, receipt.image)
        decided = await submit_and_run(client, dealer, claim, db, settings, reader)
        assert decided["status"] == "approved", decided["reasons"]


async def test_the_earlier_claim_is_the_one_submitted_first(
    client: Client,
    db: Database,
    settings: Settings,
    reader: FakeReader,
    setup: tuple[Headers, Headers],
) -> None:
    hq, dealer = setup
    other = await dealer_headers(db, settings)
    promo = await promotion(client, hq)
    # the copy is uploaded first, the original submitted first; both decided together
    copy = await new_claim(client, other, promo)
    await upload(client, other, copy, reader.register(noise_image(7), receipt_no="D-3001"))
    original = await new_claim(client, dealer, promo)
    await upload(client, dealer, original, reader.register(noise_image(8), receipt_no="D-3001"))
    for claim, headers in ((original, dealer), (copy, other)):
        response = await client.post(f"/mp/claims/{claim['id']}/submit", headers=headers)
        assert response.status_code == 200, response.text
    # the copy's job happens to run first (a retry, another worker): it cannot be cleared
    storage = storage_of(settings)
    await process_claim(db, storage, reader, uuid.UUID(copy["id"]))
    await process_claim(db, storage, reader, uuid.UUID(original["id"]))
    first = (await client.get(f"/mp/claims/{original['id']}", headers=dealer)).json()
    second = (await client.get(f"/mp/claims/{copy['id']}", headers=other)).json()
    assert first["status"] == "approved", first["reasons"]
    assert second["status"] == "review"
    [reason] = second["reasons"]
    assert (reason["code"], reason["earlierClaimId"]) == ("earlier_claim_unread", original["id"])

    # in order, the copy of the now-read original is rejected and names it
    third = await new_claim(client, other, promo)
    await upload(client, other, third, reader.register(noise_image(9), receipt_no="D-3001"))
    decided = await submit_and_run(client, other, third, db, settings, reader)
    assert decided["status"] == "rejected"
    assert any(r["earlierClaimId"] == original["id"] for r in decided["reasons"])


async def test_uploads_are_checked(
    client: Client,
    db: Database,
    settings: Settings,
    reader: FakeReader,
    setup: tuple[Headers, Headers],
) -> None:
    hq, dealer = setup
    promo = await promotion(client, hq, mechanic={"maxImages": 2})
    claim = await new_claim(client, dealer, promo)
    pdf = await upload(client, dealer, claim, b"%PDF-1.4 not a receipt photo", "r.pdf")
    assert pdf.status_code == 422
    assert pdf.json()["code"] == "receipt_not_image"
    text = await upload(client, dealer, claim, b"hello world", "r.txt")
    assert text.json()["code"] == "receipt_not_image"
    for seed in (10, 11):
        assert (await upload(client, dealer, claim, noise_image(seed))).status_code == 200
    third = await upload(client, dealer, claim, noise_image(12))
    assert third.status_code == 422
    assert third.json()["code"] == "too_many_images"

    # another dealer's claim does not exist for them
    other = await dealer_headers(db, settings)
    assert (await client.get(f"/mp/claims/{claim['id']}", headers=other)).status_code == 404
    assert (await upload(client, other, claim, noise_image(13))).status_code == 404
    assert (await client.post(f"/mp/claims/{claim['id']}/submit", headers=other)).status_code == 404
    # nor may they take its id
    taken = await client.post(
        "/mp/claims", json={"id": claim["id"], "promotionId": promo["id"]}, headers=other
    )
    assert taken.status_code == 409


async def test_a_dealer_naming_another_dealer_is_refused(
    client: Client, db: Database, setup: tuple[Headers, Headers]
) -> None:
    hq, dealer = setup
    promo = await promotion(client, hq)
    other = await make_dealer(db, tier="core")
    body = {"id": str(uuid.uuid4()), "promotionId": promo["id"], "dealerId": str(other.id)}
    refused = await client.post("/mp/claims", json=body, headers=dealer)
    assert (refused.status_code, refused.json()["code"]) == (403, "claim_dealer_forbidden")
    assert (await client.get(f"/mp/claims/{body['id']}", headers=dealer)).status_code == 404
    # Naming itself is fine.
    me = (await client.get("/mp/me", headers=dealer)).json()
    mine = await client.post(
        "/mp/claims", json={**body, "dealerId": me["dealer"]["id"]}, headers=dealer
    )
    assert mine.status_code == 201, mine.text


async def test_presigned_upload_then_confirm(
    client: Client,
    db: Database,
    settings: Settings,
    reader: FakeReader,
    setup: tuple[Headers, Headers],
) -> None:
    hq, dealer = setup
    promo = await promotion(client, hq)
    claim = await new_claim(client, dealer, promo)
    receipt_id = str(uuid.uuid4())
    unconfirmed = await client.post(
        f"/mp/claims/{claim['id']}/receipts/{receipt_id}/confirm", headers=dealer
    )
    assert unconfirmed.status_code == 422
    form = await client.post(
        f"/mp/claims/{claim['id']}/receipts/presign",
        json={"receiptId": receipt_id, "contentType": "image/png"},
        headers=dealer,
    )
    assert form.status_code == 200, form.text
    fields = form.json()["fields"]
    posted = await client.post(
        "/storage/upload",
        data=fields,
        files={"file": ("r.png", reader.register(noise_image(20)), "image/png")},
    )
    assert posted.status_code == 204, posted.text
    confirmed = await client.post(
        f"/mp/claims/{claim['id']}/receipts/{receipt_id}/confirm", headers=dealer
    )
    assert confirmed.status_code == 200, confirmed.text
    assert (await submit_and_run(client, dealer, claim, db, settings, reader))[
        "status"
    ] == "approved"


async def test_expired_and_foreign_promotions_cannot_be_claimed(
    client: Client, db: Database, settings: Settings, setup: tuple[Headers, Headers]
) -> None:
    hq, dealer = setup
    ended = await promotion(
        client,
        hq,
        code="OLD",
        startsOn=str(today() - timedelta(days=20)),
        endsOn=str(today() - timedelta(days=1)),
    )
    growth_only = await promotion(client, hq, code="GROW", eligibility={"tiers": ["growth"]})
    draft = await promotion(client, hq, code="DRAFT", publish=False)
    live = await promotion(client, hq, code="LIVE")
    body = lambda p: {"id": str(uuid.uuid4()), "promotionId": p["id"]}  # noqa: E731
    expired = await client.post("/mp/claims", json=body(ended), headers=dealer)
    assert (expired.status_code, expired.json()["code"]) == (422, "promotion_not_active")
    assert (
        await client.post("/mp/claims", json=body(growth_only), headers=dealer)
    ).status_code == 404
    assert (await client.post("/mp/claims", json=body(draft), headers=dealer)).status_code == 404
    claimable = await client.get("/mp/promotions/claimable", headers=dealer)
    assert [p["code"] for p in claimable.json()] == [live["code"]]


async def test_above_budget_goes_to_review_and_hq_cannot_overrun_it(
    client: Client,
    db: Database,
    settings: Settings,
    reader: FakeReader,
    setup: tuple[Headers, Headers],
) -> None:
    hq, dealer = setup
    promo = await promotion(client, hq, budget={"amount": 8000})
    first = await new_claim(client, dealer, promo)
    await upload(client, dealer, first, reader.register(noise_image(30), receipt_no="C-1"))
    assert (await submit_and_run(client, dealer, first, db, settings, reader))[
        "status"
    ] == "approved"
    second = await new_claim(client, dealer, promo)
    await upload(client, dealer, second, reader.register(noise_image(31), receipt_no="C-2"))
    decided = await submit_and_run(client, dealer, second, db, settings, reader)
    assert decided["status"] == "review"
    assert [r["code"] for r in decided["reasons"]] == ["budget_exhausted"]
    queue = (await client.get("/hq/claims", headers=hq)).json()
    assert [c["id"] for c in queue] == [second["id"]]
    assert queue[0]["receipts"][0]["boxes"] and queue[0]["receipts"][0]["imageUrl"]
    refused = await client.post(
        f"/hq/claims/{second['id']}/approve", json={"comment": "ok"}, headers=hq
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "budget_exhausted")
    partial = await client.post(
        f"/hq/claims/{second['id']}/approve",
        json={"comment": "部分批准", "amount": 3000},
        headers=hq,
    )
    assert partial.status_code == 200, partial.text
    assert (partial.json()["status"], partial.json()["approvedAmount"]) == ("approved", 3000)
    # The refused approval rolled back with its entries; the review sent nothing to the trail.
    assert await trail_of(client, hq, "claim", second["id"]) == [
        ("approved", "hq_admin", "部分批准"),
        ("paid", "hq_admin", ""),
    ]
    assert await balance(client, dealer) == 8000
    # HQ's decision and the payout are in the audit trail (the refused try left nothing).
    async with db.session() as s:
        trail, _ = await search_audit(s, AuditSearch(entity="claim", entity_id=second["id"]))
    assert sorted((e.action, e.actor_role, e.data["amount"]) for e in trail) == [
        ("claim.approved", "hq_admin", 5000),
        ("claim.paid", "hq_admin", 3000),
    ]
    approved = next(e for e in trail if e.action == "claim.approved")
    assert (approved.data["approved"], approved.data["comment"]) == (3000, "部分批准")


async def test_review_then_reject_and_rep_claims(
    client: Client,
    db: Database,
    settings: Settings,
    reader: FakeReader,
    setup: tuple[Headers, Headers],
) -> None:
    hq, _ = setup
    promo = await promotion(client, hq, mechanic={"autoApproveLimit": 1000})
    shop = await make_dealer(db)
    rep = bearer(settings, await make_user(db, Role.REP))
    other_rep = bearer(settings, await make_user(db, Role.REP))
    missing = await client.post(
        "/mp/claims", json={"id": str(uuid.uuid4()), "promotionId": promo["id"]}, headers=rep
    )
    assert missing.json()["code"] == "dealer_required"
    claim = await new_claim(client, rep, promo, dealerId=str(shop.id))
    await upload(client, rep, claim, reader.register(noise_image(40), receipt_no="D-1"))
    decided = await submit_and_run(client, rep, claim, db, settings, reader)
    assert decided["status"] == "review"
    assert [r["code"] for r in decided["reasons"]] == ["above_auto_limit"]
    assert (await client.get(f"/mp/claims/{claim['id']}", headers=other_rep)).status_code == 404
    rejected = await client.post(
        f"/hq/claims/{claim['id']}/reject", json={"comment": "小票模糊"}, headers=hq
    )
    assert rejected.json()["status"] == "rejected"
    assert (
        await client.post(f"/hq/claims/{claim['id']}/approve", json={}, headers=hq)
    ).status_code == 409
    assert await trail_of(client, hq, "claim", claim["id"]) == [
        ("rejected", "hq_admin", "小票模糊")
    ]
    async with db.session() as s:
        found, _ = await search_audit(s, AuditSearch(action="claim.", entity_id=claim["id"]))
    assert [(e.action, e.actor_role, e.data["comment"]) for e in found] == [
        ("claim.rejected", "hq_admin", "小票模糊")
    ]
    async with db.session() as s:
        scopes = set(
            (
                await s.execute(select(sync_change.c.scope).where(sync_change.c.entity == "claim"))
            ).scalars()
        )
    assert scopes == {f"dealer:{shop.id}", f"rep:{claim['repId']}"}
    mine = await client.get("/mp/claims", headers=rep)
    assert [c["id"] for c in mine.json()] == [claim["id"]]
