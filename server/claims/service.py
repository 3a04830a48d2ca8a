"""Claims: create (idempotent by client id), attach receipts, submit, review, pay once.

Payment happens in one place, ``pay_claim``: the promotion's budget is consumed under the
key ``claim:{id}`` and the rebate account credited under ``claim-payout:{id}``; both keys
are unique, and the claim's status only moves forward under a row lock, so neither a
retried job nor a repeated HQ click can pay twice.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import credit_rebate
from server.approvals import DecisionIn
from server.audit import record
from server.claims.chains import vote_on_claim
from server.claims.decisions import note_claim_decision
from server.claims.models import Claim, ClaimEvent, ClaimReceipt, ClaimStatus
from server.claims.schemas import (
    BoxOut,
    ClaimCreate,
    ClaimEventOut,
    ClaimOut,
    ReasonOut,
    ReceiptOut,
    ReceiptPresignIn,
    ReceiptPresignOut,
    ReviewIn,
)
from server.db.base import utcnow
from server.db.repository import flush_or_conflict
from server.dealers import dealer_pricing_facts
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.identity import Role
from server.identity.principal import Principal
from server.jobs import enqueue
from server.messages import CATALOGUE, current_language, reason, stored
from server.promotions import (
    DisplayFee,
    Promotion,
    PromotionStatus,
    SellOut,
    consume_budget,
    eligibility_of,
    get_promotion,
    mechanic_of,
)
from server.storage import ObjectStorage, sniff_content_type
from sync import publish

SCAN_JOB = "claims.scan"
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
_NOT_FOUND = ("claim_not_found", "核销单不存在", "claim not found")


def claim_mechanic(p: Promotion) -> DisplayFee | SellOut:
    m = mechanic_of(p)
    if not isinstance(m, DisplayFee | SellOut):
        raise NotFound("promotion_not_found", "促销不存在或不可核销", "No claimable promotion")
    return m


async def _claimable(
    session: AsyncSession, promotion_id: uuid.UUID, dealer_id: uuid.UUID, now: datetime
) -> Promotion:
    """A published claimable promotion this dealer belongs to and whose window is open."""
    try:
        p = await get_promotion(session, promotion_id)
    except NotFound:
        p = None
    facts = await dealer_pricing_facts(session, dealer_id)
    if p is None or p.status is not PromotionStatus.PUBLISHED:
        raise NotFound("promotion_not_found", "促销不存在或不可核销", "No claimable promotion")
    claim_mechanic(p)
    audience = eligibility_of(p)
    open_window = audience.admits(facts, now)
    if not msgspec.structs.replace(audience, starts_at=None, ends_at=None).admits(facts, now):
        raise NotFound("promotion_not_found", "促销不存在或不可核销", "No claimable promotion")
    if not open_window:
        raise Invalid(
            "promotion_not_active",
            "促销不在有效期内",
            "The promotion is not running now",
            starts_at=p.starts_at.isoformat() if p.starts_at else None,
            ends_at=p.ends_at.isoformat() if p.ends_at else None,
        )
    return p


def _claim_dealer(actor: Principal, body_dealer: uuid.UUID | None) -> uuid.UUID:
    if actor.role is Role.REP:
        if body_dealer is None:
            raise Invalid(
                "dealer_required",
                "请选择核销的经销商",
                "A rep names the dealer the claim is for",
                errors=[{"key": "dealerId", "message": "必填", "message_en": "required"}],
            )
        return body_dealer
    if actor.dealer_id is None:
        raise NotFound(*_NOT_FOUND)
    if body_dealer is not None and body_dealer != actor.dealer_id:
        # A dealer claims only for itself: naming another dealer is refused, never ignored.
        raise Forbidden(
            "claim_dealer_forbidden",
            "只能为本经销商提交核销",
            "A dealer can only claim for itself",
            errors=[
                {"key": "dealerId", "message": "不是您的经销商", "message_en": "not your dealer"}
            ],
        )
    return actor.dealer_id


def _visible(stmt: Any, actor: Principal) -> Any:
    # Dealers are filtered by the session's dealer scope; reps see the claims they made.
    if actor.role is Role.REP:
        return stmt.where(Claim.rep_id == actor.user_id)
    return stmt


async def load_claim(
    session: AsyncSession, actor: Principal, claim_id: uuid.UUID, *, lock: bool = False
) -> Claim:
    """The claim as this caller may see it (another dealer's or rep's claim is 404)."""
    stmt = _visible(select(Claim).where(Claim.id == claim_id), actor)
    if lock:
        stmt = stmt.with_for_update()
    claim = (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()
    if claim is None:
        raise NotFound(*_NOT_FOUND)
    return claim


def add_event(
    session: AsyncSession,
    claim: Claim,
    kind: str,
    actor_id: uuid.UUID | None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        ClaimEvent(
            id=uuid.uuid4(),
            claim_id=claim.id,
            dealer_id=claim.dealer_id,
            at=utcnow(),
            actor_id=actor_id,
            kind=kind,
            status=str(claim.status),
            detail=detail or {},
        )
    )


async def publish_claim(session: AsyncSession, claim: Claim) -> None:
    """Send the claim's state to its dealer's scope (and its rep's)."""
    claim.version += 1
    payload = {
        "id": str(claim.id),
        "promotionId": str(claim.promotion_id),
        "dealerId": str(claim.dealer_id),
        "repId": str(claim.rep_id) if claim.rep_id else None,
        "status": str(claim.status),
        "amount": claim.amount,
        "approvedAmount": claim.approved_amount,
        "reasons": claim.reasons,
        "version": claim.version,
    }
    await publish(session, f"dealer:{claim.dealer_id}", "claim", str(claim.id), "upsert", payload)
    if claim.rep_id is not None:
        await publish(session, f"rep:{claim.rep_id}", "claim", str(claim.id), "upsert", payload)


async def create_claim(
    session: AsyncSession, actor: Principal, body: ClaimCreate, now: datetime
) -> tuple[Claim, bool]:
    """Open a claim under a claimable promotion; a repeated id returns the same claim."""
    dealer_id = _claim_dealer(actor, body.dealer_id)
    existing = (
        await session.execute(_visible(select(Claim).where(Claim.id == body.id), actor))
    ).scalar_one_or_none()
    if existing is not None:
        if (existing.promotion_id, existing.dealer_id) != (body.promotion_id, dealer_id):
            raise Conflict("claim_id_reused", "该核销单号已用于其他核销", "This claim id is taken")
        return existing, False
    p = await _claimable(session, body.promotion_id, dealer_id, now)
    m = claim_mechanic(p)
    claim = Claim(
        id=body.id,
        dealer_id=dealer_id,
        promotion_id=p.id,
        rep_id=actor.user_id if actor.role is Role.REP else None,
        created_by=actor.user_id,
        status=ClaimStatus.OPEN,
        currency=p.currency,
        amount=m.amount,
        note=body.note,
        reasons=[],
        version=0,
    )
    session.add(claim)
    await flush_or_conflict(session, "claim_id_reused")
    add_event(session, claim, "created", actor.user_id, {"promotion": p.code, "amount": m.amount})
    await publish_claim(session, claim)
    return claim, True


def receipt_key(claim: Claim, receipt_id: uuid.UUID) -> str:
    return f"claims/{claim.dealer_id}/{claim.id}/{receipt_id}"


def check_image(data: bytes) -> str:
    """The sniffed image type of an upload; anything else is refused."""
    kind = sniff_content_type(data[:32])
    if not data or kind not in IMAGE_TYPES:
        raise Invalid(
            "receipt_not_image",
            "请上传 JPEG、PNG 或 WebP 格式的图片",
            "Receipts must be JPEG, PNG or WebP images",
            detected=kind,
        )
    return kind


async def _require_open(session: AsyncSession, claim: Claim) -> DisplayFee | SellOut:
    if claim.status is not ClaimStatus.OPEN:
        raise Conflict(
            "claim_not_open", "核销单已提交，不能再添加图片", "The claim is no longer open"
        )
    return claim_mechanic(await get_promotion(session, claim.promotion_id))


async def _receipt_count(session: AsyncSession, claim: Claim) -> int:
    stmt = select(func.count()).select_from(ClaimReceipt).where(ClaimReceipt.claim_id == claim.id)
    return int((await session.execute(stmt)).scalar_one())


def _too_many(limit: int) -> Invalid:
    return Invalid(
        "too_many_images",
        f"每张核销单最多 {limit} 张图片",
        f"At most {limit} images per claim",
        max_images=limit,
    )


async def _existing_receipt(
    session: AsyncSession, claim: Claim, receipt_id: uuid.UUID
) -> ClaimReceipt | None:
    row = await session.get(ClaimReceipt, receipt_id)
    if row is not None and row.claim_id != claim.id:
        raise Conflict("receipt_id_reused", "该图片编号已被使用", "This receipt id is taken")
    return row


async def presign_receipt(
    session: AsyncSession,
    storage: ObjectStorage,
    actor: Principal,
    claim_id: uuid.UUID,
    body: ReceiptPresignIn,
) -> ReceiptPresignOut:
    """A presigned POST form for one receipt image (``wx.uploadFile`` posts it directly)."""
    claim = await load_claim(session, actor, claim_id)
    m = await _require_open(session, claim)
    if body.content_type not in IMAGE_TYPES:
        raise Invalid("receipt_not_image", "只接受图片", "Only images are accepted")
    if await _receipt_count(session, claim) >= m.max_images:
        raise _too_many(m.max_images)
    form = storage.presign_upload(receipt_key(claim, body.receipt_id), body.content_type)
    return ReceiptPresignOut(
        receipt_id=body.receipt_id,
        key=form.key,
        url=form.url,
        fields=form.fields,
        expires_at=form.expires_at,
        max_bytes=form.max_bytes,
    )


async def attach_receipt(
    session: AsyncSession,
    storage: ObjectStorage,
    actor: Principal,
    claim_id: uuid.UUID,
    receipt_id: uuid.UUID,
    data: bytes | None = None,
) -> ClaimReceipt:
    """Attach an image: uploaded now (``data``) or earlier with the presigned form."""
    claim = await load_claim(session, actor, claim_id)
    existing = await _existing_receipt(session, claim, receipt_id)
    if existing is not None:
        return existing
    m = await _require_open(session, claim)
    if await _receipt_count(session, claim) >= m.max_images:
        raise _too_many(m.max_images)
    key = receipt_key(claim, receipt_id)
    if data is None:
        if not await storage.exists(key):
            raise Invalid("upload_missing", "图片尚未上传", "The image has not been uploaded")
        data = await storage.get(key)
        content_type = check_image(data)
    else:
        content_type = check_image(data)
        await storage.put(key, data, content_type)
    receipt = ClaimReceipt(
        id=receipt_id,
        claim_id=claim.id,
        dealer_id=claim.dealer_id,
        storage_key=key,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    session.add(receipt)
    await flush_or_conflict(session, "receipt_id_reused")
    add_event(session, claim, "receipt_attached", actor.user_id, {"receiptId": str(receipt_id)})
    await publish_claim(session, claim)
    return receipt


async def submit_claim(session: AsyncSession, actor: Principal, claim_id: uuid.UUID) -> Claim:
    """Send the claim to be read and checked (queues the OCR job); repeating is harmless."""
    claim = await load_claim(session, actor, claim_id, lock=True)
    if claim.status is not ClaimStatus.OPEN:
        return claim
    if await _receipt_count(session, claim) == 0:
        raise Invalid("receipts_required", "请至少上传一张图片", "Attach at least one image")
    claim.status = ClaimStatus.PROCESSING
    claim.submitted_at = utcnow()
    await enqueue(
        session, SCAN_JOB, {"claim_id": str(claim.id)}, dedupe_key=f"claim-scan:{claim.id}"
    )
    add_event(session, claim, "submitted", actor.user_id)
    await publish_claim(session, claim)
    return claim


async def cancel_claim(session: AsyncSession, actor: Principal, claim_id: uuid.UUID) -> Claim:
    """Withdraw a claim that is not decided yet."""
    claim = await load_claim(session, actor, claim_id, lock=True)
    if claim.status is ClaimStatus.CANCELLED:
        return claim
    if claim.status not in (ClaimStatus.OPEN, ClaimStatus.REVIEW):
        raise Conflict(
            "claim_not_cancellable",
            "核销单已处理，不能撤回",
            "The claim can no longer be withdrawn",
        )
    claim.status = ClaimStatus.CANCELLED
    add_event(session, claim, "cancelled", actor.user_id)
    await publish_claim(session, claim)
    return claim


def record_decision(
    session: AsyncSession, actor: Principal | None, claim: Claim, data: dict[str, Any]
) -> None:
    """The claim's decision (``claim.approved`` / ``claim.rejected``) in the audit trail, by
    HQ (``actor``) or automatically (None); a claim sent to review is not decided yet."""
    if claim.status in (ClaimStatus.APPROVED, ClaimStatus.REJECTED):
        decided = {"decidedBy": claim.decided_by, "amount": claim.amount, **data}
        record(session, actor, f"claim.{claim.status}", "claim", claim.id, decided)


async def pay_claim(
    session: AsyncSession,
    claim: Claim,
    promotion: Promotion,
    amount: int,
    actor: Principal | None,
) -> None:
    """Consume the budget and credit the rebate account, each at most once per claim; the
    payout goes into the audit trail (``claim.paid``; actor None: paid automatically)."""
    await consume_budget(
        session, promotion, claim.dealer_id, amount=amount, count=1, key=f"claim:{claim.id}"
    )
    entry, replayed = await credit_rebate(
        session,
        claim.dealer_id,
        amount,
        key=f"claim-payout:{claim.id}",
        reference=f"claim:{claim.id}",
        reason=stored("ledger.claim_payout", code=promotion.code, name=promotion.name),
        actor_id=actor.user_id if actor else None,
    )
    if not replayed:
        record(
            session,
            actor,
            "claim.paid",
            "claim",
            claim.id,
            {"amount": amount, "promotion": promotion.code, "ledgerEntryId": str(entry.id)},
        )
    claim.payout_entry_id = entry.id
    claim.approved_amount = amount
    claim.status = ClaimStatus.APPROVED
    claim.decided_at = utcnow()


def _check_seen_version(claim: Claim, body: ReviewIn) -> None:
    # Read under the row lock: of two reviewers deciding at once, the second sees the first's
    # version bump and is refused instead of deciding again.
    if body.version is not None and body.version != claim.version:
        raise Conflict(
            "claim_changed",
            "该核销单已被他人处理或已变更，请刷新后再审",
            "This claim was decided or changed by someone else; reload it",
            status=str(claim.status),
            version=claim.version,
        )


async def approve_claim(
    session: AsyncSession,
    actor: Principal,
    claim_id: uuid.UUID,
    body: ReviewIn,
    seen: DecisionIn | None = None,
) -> Claim:
    """HQ approves a claim under review and pays it (409 when the budget is exhausted)."""
    claim = await load_claim(session, actor, claim_id, lock=True)
    _check_seen_version(claim, body)
    if claim.status is ClaimStatus.APPROVED:
        return claim
    if claim.status is not ClaimStatus.REVIEW:
        raise Conflict(
            "claim_not_in_review", "只能审批待审核的核销单", "Only claims in review can be decided"
        )
    amount = body.amount or claim.amount
    if amount > claim.amount:
        raise Invalid(
            "amount_above_claim", "批准金额不能超过申请金额", "Cannot approve more than claimed"
        )
    if not await vote_on_claim(
        session, actor, claim, True, seen or DecisionIn(comment=body.comment)
    ):
        add_event(session, claim, "step_approved", actor.user_id, {"comment": body.comment})
        await publish_claim(session, claim)
        return claim  # the next step decides
    promotion = await get_promotion(session, claim.promotion_id)
    await pay_claim(session, claim, promotion, amount, actor)
    claim.decided_by, claim.reviewer_id, claim.review_comment = "hq", actor.user_id, body.comment
    record_decision(session, actor, claim, {"approved": amount, "comment": body.comment})
    add_event(
        session, claim, "approved", actor.user_id, {"amount": amount, "comment": body.comment}
    )
    note_claim_decision(session, actor, claim, body.comment)
    await publish_claim(session, claim)
    return claim


async def reject_claim(
    session: AsyncSession,
    actor: Principal,
    claim_id: uuid.UUID,
    body: ReviewIn,
    seen: DecisionIn | None = None,
) -> Claim:
    """HQ rejects a claim under review with a comment."""
    claim = await load_claim(session, actor, claim_id, lock=True)
    _check_seen_version(claim, body)
    if claim.status is ClaimStatus.REJECTED:
        return claim
    if claim.status is not ClaimStatus.REVIEW:
        raise Conflict(
            "claim_not_in_review", "只能审批待审核的核销单", "Only claims in review can be decided"
        )
    await vote_on_claim(session, actor, claim, False, seen or DecisionIn(comment=body.comment))
    claim.status = ClaimStatus.REJECTED
    claim.decided_at = utcnow()
    claim.decided_by, claim.reviewer_id, claim.review_comment = "hq", actor.user_id, body.comment
    record_decision(session, actor, claim, {"comment": body.comment})
    add_event(session, claim, "rejected", actor.user_id, {"comment": body.comment})
    note_claim_decision(session, actor, claim, body.comment)
    await publish_claim(session, claim)
    return claim


async def decide_claim_by_chain(
    session: AsyncSession,
    actor: Principal,
    document_id: str,
    approve: bool,
    body: DecisionIn,
    now: datetime,
) -> None:
    """A vote on a claim's approval chain from ``/hq/approvals`` (the last one decides it)."""
    del now  # the claim's decision takes its own time
    try:
        claim_id = uuid.UUID(document_id)
    except ValueError as exc:
        raise NotFound("claim_not_found", "核销单不存在", "Claim not found") from exc
    review = ReviewIn(comment=body.comment)
    if approve:
        await approve_claim(session, actor, claim_id, review, body)
    else:
        await reject_claim(session, actor, claim_id, review, body)


async def list_claims(
    session: AsyncSession, actor: Principal, status: ClaimStatus | None, limit: int
) -> Sequence[Claim]:
    """Claims the caller may see, newest first."""
    stmt = _visible(select(Claim), actor).order_by(Claim.created_at.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(Claim.status == status)
    return (await session.execute(stmt)).scalars().all()


async def receipts_of(
    session: AsyncSession, claim_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ClaimReceipt]]:
    if not claim_ids:
        return {}
    stmt = (
        select(ClaimReceipt)
        .where(ClaimReceipt.claim_id.in_(claim_ids))
        .order_by(ClaimReceipt.created_at)
    )
    out: dict[uuid.UUID, list[ClaimReceipt]] = {}
    for r in (await session.execute(stmt)).scalars():
        out.setdefault(r.claim_id, []).append(r)
    return out


async def history_of(session: AsyncSession, claim_id: uuid.UUID) -> list[ClaimEvent]:
    stmt = (
        select(ClaimEvent)
        .where(ClaimEvent.claim_id == claim_id)
        .order_by(ClaimEvent.at, ClaimEvent.id)
    )
    return list((await session.execute(stmt)).scalars())


def receipt_out(r: ClaimReceipt, storage: ObjectStorage | None) -> ReceiptOut:
    return ReceiptOut(
        id=r.id,
        status=str(r.status),
        content_type=r.content_type,
        size=r.size,
        image_url=storage.presign_download(r.storage_key) if storage is not None else None,
        width=r.width,
        height=r.height,
        ocr_confidence=r.ocr_confidence,
        fields=r.fields,
        boxes=[
            BoxOut(text=line["text"], box=[list(p) for p in line["box"]], score=line["score"])
            for line in r.lines or []
        ],
        verification=r.verification,
        fingerprint=r.fingerprint,
        image_hash=r.image_hash,
        error=r.error,
    )


def reason_out(stored: dict[str, Any]) -> ReasonOut:
    """A stored decision reason with its catalogue texts (the request's language first)."""
    code = str(stored.get("code", ""))
    if stored.get("messageZh") and stored.get("message"):
        # The receipt checks word their findings themselves, with the evidence (which field,
        # which earlier claim), in both languages.
        zh, en = str(stored["messageZh"]), str(stored["message"])
        texts = {"message": zh if current_language() == "zh" else en, "zh": zh, "en": en}
    elif f"claim.{code}" in CATALOGUE:
        texts = reason(f"claim.{code}", stored)
    else:  # an engine's reason we have no texts for
        fallback = str(stored.get("message") or code)
        texts = {"message": fallback, "zh": fallback, "en": fallback}
    return ReasonOut(
        code=code,
        severity=str(stored.get("severity", "")),
        message=texts["message"],
        zh=texts["zh"],
        en=texts["en"],
        receipt_id=_uuid(stored.get("receiptId")),
        earlier_claim_id=_uuid(stored.get("earlierClaimId")),
    )


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def claim_out(
    claim: Claim,
    receipts: Sequence[ClaimReceipt] = (),
    history: Sequence[ClaimEvent] = (),
    storage: ObjectStorage | None = None,
) -> ClaimOut:
    return ClaimOut(
        id=claim.id,
        promotion_id=claim.promotion_id,
        dealer_id=claim.dealer_id,
        rep_id=claim.rep_id,
        status=str(claim.status),
        currency=claim.currency,
        amount=claim.amount,
        approved_amount=claim.approved_amount,
        note=claim.note,
        decided_by=claim.decided_by,
        confidence=claim.confidence,
        reasons=[reason_out(reason) for reason in claim.reasons],
        review_comment=claim.review_comment,
        submitted_at=claim.submitted_at,
        decided_at=claim.decided_at,
        created_at=claim.created_at,
        version=claim.version,
        receipts=[receipt_out(r, storage) for r in receipts],
        history=[
            ClaimEventOut(at=e.at, kind=e.kind, status=e.status, detail=e.detail) for e in history
        ],
    )


async def claim_detail(
    session: AsyncSession, actor: Principal, claim_id: uuid.UUID, storage: ObjectStorage
) -> ClaimOut:
    """One claim with its receipts (OCR fields and boxes) and history."""
    claim = await load_claim(session, actor, claim_id)
    receipts = (await receipts_of(session, [claim.id])).get(claim.id, [])
    return claim_out(claim, receipts, await history_of(session, claim.id), storage)
