"""The OCR job: read each receipt off the event loop, check it, decide the claim.

``claims.scan`` runs in the job runner (in the API process by default, or ``channelhub
worker``). OCR is CPU-bound: it runs in one dedicated thread per process, where the engine
is loaded once and reused. Each receipt's result is committed on its own, so a retried job
only reads the receipts still unread; the decision happens once, under the claim's row lock,
and only while the claim is ``processing``.

Duplicates are looked for across every claim of every dealer: the same bytes or the same
content fingerprint (shop, date, number, total) reject; a perceptual hash within a few bits
(a re-encoded, cropped or lightly edited copy) rejects too. Each reason names the earlier
claim.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ocr import (
    ClaimExpectations,
    OcrError,
    Product,
    ReceiptScan,
    hash_distance,
    scan_receipt_async,
    verify_receipt,
)
from server.catalog import sku_names
from server.claims.models import Claim, ClaimReceipt, ClaimStatus, ReceiptStatus
from server.claims.service import SCAN_JOB, add_event, claim_mechanic, pay_claim, publish_claim
from server.db.base import utcnow
from server.db.engine import Database
from server.db.session import transaction
from server.jobs import JobRegistry
from server.messages import yuan
from server.promotions import BudgetExhausted, DisplayFee, Promotion, get_promotion, promotion_skus
from server.storage import ObjectStorage

ReceiptReader = Callable[[bytes], Awaitable[ReceiptScan]]
NEAR_DUPLICATE_BITS = 6


@functools.cache
def _ocr_pool() -> ThreadPoolExecutor:
    """One OCR thread per process: the engine is loaded there once and reused."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocr")


async def read_receipt(data: bytes) -> ReceiptScan:
    """Scan one image in this process's OCR thread (never on the event loop)."""
    return await scan_receipt_async(data, executor=_ocr_pool())


def register_claim_jobs(
    registry: JobRegistry, storage: ObjectStorage, reader: ReceiptReader = read_receipt
) -> None:
    """Register ``claims.scan`` with the storage it reads images from."""

    async def scan(database: Database, payload: dict[str, Any]) -> None:
        await process_claim(database, storage, reader, uuid.UUID(payload["claim_id"]))

    registry.register(SCAN_JOB, scan)


async def _expectations(session: AsyncSession, p: Promotion) -> ClaimExpectations:
    m = claim_mechanic(p)
    skus = await promotion_skus(session, p)
    names = await sku_names(session, skus)
    products = tuple(
        Product(sku=code, name=name, barcodes=(barcode,) if barcode else ())
        for code, (name, barcode) in sorted(names.items())
    )
    return ClaimExpectations(
        window_start=p.starts_on,
        window_end=p.ends_on,
        min_total=m.min_total,
        products=products,
        min_confidence=m.min_confidence,
    )


def _reason(code: str, severity: str, **params: Any) -> dict[str, Any]:
    """A stored reason: code, severity and the parameters its catalogue texts name."""
    out: dict[str, Any] = {"code": code, "severity": severity}
    out.update({k: str(v) for k, v in params.items() if v is not None})
    return out


async def process_claim(
    database: Database, storage: ObjectStorage, reader: ReceiptReader, claim_id: uuid.UUID
) -> None:
    """Read every unread receipt of a submitted claim, then decide it."""
    async with transaction(database) as session:
        claim = await session.get(Claim, claim_id)
        if claim is None or claim.status is not ClaimStatus.PROCESSING:
            return
        expectations = await _expectations(
            session, await get_promotion(session, claim.promotion_id)
        )
        todo = [
            (r.id, r.storage_key)
            for r in (
                await session.execute(
                    select(ClaimReceipt).where(
                        ClaimReceipt.claim_id == claim_id,
                        ClaimReceipt.status == ReceiptStatus.UPLOADED,
                    )
                )
            ).scalars()
        ]
    for receipt_id, key in todo:
        data = await storage.get(key)
        scan: ReceiptScan | None = None
        error: str | None = None
        try:
            scan = await reader(data)
        except OcrError as exc:
            error = f"{type(exc).__name__}: {exc}"[:256]
        async with transaction(database) as session:
            receipt = await session.get(ClaimReceipt, receipt_id)
            if receipt is None or receipt.status is not ReceiptStatus.UPLOADED:
                continue
            _store_scan(receipt, scan, error, expectations)
    async with transaction(database) as session:
        await decide_claim(session, claim_id)


def _store_scan(
    receipt: ClaimReceipt,
    scan: ReceiptScan | None,
    error: str | None,
    expectations: ClaimExpectations,
) -> None:
    receipt.scanned_at = utcnow()
    if scan is None:
        receipt.status, receipt.error = ReceiptStatus.FAILED, error
        return
    builtins: dict[str, Any] = msgspec.to_builtins(scan)
    receipt.status = ReceiptStatus.SCANNED
    receipt.fields = builtins["fields"]
    receipt.lines = builtins["lines"]
    receipt.width, receipt.height = scan.width, scan.height
    receipt.ocr_confidence = scan.confidence
    receipt.fingerprint, receipt.image_hash = scan.fingerprint, scan.image_hash
    receipt.verification = msgspec.to_builtins(verify_receipt(scan, expectations))


async def _duplicates(session: AsyncSession, receipt: ClaimReceipt) -> list[dict[str, Any]]:
    """Earlier receipts (any claim, any dealer) this one repeats."""
    reasons: list[dict[str, Any]] = []
    others = select(ClaimReceipt.claim_id, ClaimReceipt.id).where(ClaimReceipt.id != receipt.id)
    earlier = (ClaimReceipt.created_at < receipt.created_at) | (
        ClaimReceipt.claim_id != receipt.claim_id
    )
    same_bytes = (
        await session.execute(others.where(earlier, ClaimReceipt.sha256 == receipt.sha256))
    ).first()
    if same_bytes is not None:
        reasons.append(
            _reason(
                "duplicate_image",
                "reject",
                receiptId=receipt.id,
                earlierClaimId=same_bytes.claim_id,
            )
        )
        return reasons
    if receipt.fingerprint:
        same = (
            await session.execute(
                others.where(earlier, ClaimReceipt.fingerprint == receipt.fingerprint)
            )
        ).first()
        if same is not None:
            reasons.append(
                _reason(
                    "duplicate_content",
                    "reject",
                    receiptId=receipt.id,
                    earlierClaimId=same.claim_id,
                )
            )
            return reasons
    if receipt.image_hash:
        # TODO(scale): a linear scan of all hashes; index 16-bit hash chunks when it grows.
        rows = await session.execute(
            select(ClaimReceipt.claim_id, ClaimReceipt.image_hash).where(
                ClaimReceipt.id != receipt.id, earlier, ClaimReceipt.image_hash.is_not(None)
            )
        )
        for claim_id, other in rows:
            if other and hash_distance(receipt.image_hash, other) <= NEAR_DUPLICATE_BITS:
                reasons.append(
                    _reason(
                        "duplicate_image_edited",
                        "reject",
                        receiptId=receipt.id,
                        earlierClaimId=claim_id,
                    )
                )
                break
    return reasons


def _sku_reasons(receipt: ClaimReceipt, skus: frozenset[str], min_qty: int) -> list[dict[str, Any]]:
    verification = receipt.verification or {}
    qty = sum(
        Decimal(str(m.get("qty") or 1))
        for m in verification.get("matches", [])
        if m.get("sku") in skus
    )
    if not skus or qty >= min_qty:
        return []
    low = (receipt.ocr_confidence or 0) < 0.85
    if qty == 0:
        return [
            _reason(
                "sku_missing",
                "review" if low else "reject",
                receiptId=receipt.id,
            )
        ]
    return [
        _reason(
            "sku_quantity_short",
            "review" if low else "reject",
            qty=qty,
            required=min_qty,
            receiptId=receipt.id,
        )
    ]


async def decide_claim(session: AsyncSession, claim_id: uuid.UUID) -> None:
    """Combine the receipts' checks into approve / review / reject, and pay approvals."""
    claim = (
        await session.execute(
            select(Claim)
            .where(Claim.id == claim_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if claim is None or claim.status is not ClaimStatus.PROCESSING:
        return
    promotion = await get_promotion(session, claim.promotion_id)
    m = claim_mechanic(promotion)
    skus = await promotion_skus(session, promotion)
    receipts = list(
        (
            await session.execute(
                select(ClaimReceipt)
                .where(ClaimReceipt.claim_id == claim.id)
                .order_by(ClaimReceipt.created_at)
            )
        ).scalars()
    )
    reasons: list[dict[str, Any]] = []
    confidences: list[float] = []
    for r in receipts:
        reasons += await _duplicates(session, r)
        if r.status is ReceiptStatus.FAILED:
            reasons.append(_reason("receipt_unreadable", "review", error=r.error, receiptId=r.id))
            continue
        verification = r.verification or {}
        confidences.append(float(verification.get("confidence", 0.0)))
        if isinstance(m, DisplayFee):
            continue  # shelf photos: duplicates are checked, the rest is for a person
        for reason in verification.get("reasons", []):
            if reason["code"] in ("duplicate_content", "duplicate_image"):
                continue  # ours above name the earlier claim
            reasons.append(
                _reason(
                    reason["code"], reason["severity"], **reason.get("params", {}), receiptId=r.id
                )
            )
        reasons += _sku_reasons(r, skus, m.min_qty)
    confidence = min(confidences) if confidences else 0.0
    severities = {reason["severity"] for reason in reasons}
    if isinstance(m, DisplayFee):
        reasons.append(_reason("display_needs_review", "review"))
        severities.add("review")
    claim.confidence = round(confidence, 3)
    if "reject" in severities:
        claim.status, claim.decided_by, claim.decided_at = ClaimStatus.REJECTED, "auto", utcnow()
    elif "review" in severities:
        claim.status = ClaimStatus.REVIEW
    elif claim.amount > m.auto_approve_limit:
        reasons.append(
            _reason(
                "above_auto_limit",
                "review",
                amount=yuan(claim.amount),
                limit=yuan(m.auto_approve_limit),
            )
        )
        claim.status = ClaimStatus.REVIEW
    elif confidence < m.min_confidence:
        reasons.append(
            _reason(
                "low_confidence",
                "review",
                confidence=f"{confidence:.2f}",
                minimum=f"{m.min_confidence:.2f}",
            )
        )
        claim.status = ClaimStatus.REVIEW
    else:
        try:
            async with session.begin_nested():
                await pay_claim(session, claim, promotion, claim.amount, None)
            claim.decided_by = "auto"
        except BudgetExhausted:
            reasons.append(_reason("budget_exhausted", "review"))
            claim.status = ClaimStatus.REVIEW
    claim.reasons = reasons
    add_event(
        session,
        claim,
        "decided",
        None,
        {"status": str(claim.status), "reasons": [r["code"] for r in reasons]},
    )
    await publish_claim(session, claim)
