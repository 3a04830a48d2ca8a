"""The OCR job: read each receipt off the event loop, check it, decide the claim.

``claims.scan`` runs in the job runner (in the API process by default, or ``channelhub
worker``). OCR is CPU-bound: it runs in one dedicated thread per process, where the engine
is loaded once and reused. Each receipt's result is committed on its own, so a retried job
only reads the receipts still unread; the decision happens once, under the claim's row lock,
and only while the claim is ``processing``.

Duplicates are looked for across every claim of every dealer (``server.claims.duplicates``):
what the receipt says decides, the image only supports, and each reason names the earlier
claim. Automatic approval and rejection need strong evidence; doubt goes to review.
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
    receipt_keys,
    scan_receipt_async,
    verify_receipt,
)
from server.catalog import sku_names
from server.claims.chains import start_review_chain
from server.claims.decisions import note_claim_decision
from server.claims.duplicates import duplicate_reasons
from server.claims.models import Claim, ClaimReceipt, ClaimStatus, ReceiptStatus
from server.claims.service import (
    SCAN_JOB,
    add_event,
    claim_mechanic,
    pay_claim,
    publish_claim,
    record_decision,
)
from server.db.base import utcnow
from server.db.engine import Database
from server.db.session import transaction
from server.jobs import JobRegistry
from server.messages import yuan
from server.promotions import (
    BudgetExhausted,
    DisplayFee,
    Promotion,
    SellOut,
    get_promotion,
    promotion_skus,
)
from server.storage import ObjectStorage

ReceiptReader = Callable[[bytes], Awaitable[ReceiptScan]]


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
    keys = receipt_keys(scan.fields)
    receipt.merchant_key, receipt.number_key = keys.merchant, keys.number
    receipt.moment_key = keys.moment
    receipt.image_features = scan.image_features
    receipt.verification = msgspec.to_builtins(verify_receipt(scan, expectations))


def _qty_confirmed(receipt: ClaimReceipt, match: dict[str, Any]) -> bool:
    """The matched line reads qty x unit price = amount: its quantity is not a misreading."""
    items = (receipt.fields or {}).get("items", [])
    index = match.get("item_index")
    if not isinstance(index, int) or not 0 <= index < len(items):
        return False
    item = items[index]
    qty, price, amount = item.get("qty"), item.get("unit_price"), item.get("amount")
    if qty is None or price is None or amount is None:
        return False
    return abs(Decimal(str(qty)) * price - amount) <= 1


def _sku_reasons(receipt: ClaimReceipt, skus: frozenset[str], min_qty: int) -> list[dict[str, Any]]:
    """Promoted units on the receipt: not found -> review; short -> reject only when certain."""
    verification = receipt.verification or {}
    found = [m for m in verification.get("matches", []) if m.get("sku") in skus]
    qty = sum(Decimal(str(m.get("qty") or 1)) for m in found)
    if not skus or qty >= min_qty:
        return []
    if qty == 0:
        return [
            _reason(
                "sku_missing",
                "review",
                receiptId=receipt.id,
            )
        ]
    certain = (receipt.ocr_confidence or 0) >= 0.85 and all(
        float(m.get("score", 0)) >= 90 and _qty_confirmed(receipt, m) for m in found
    )
    return [
        _reason(
            "sku_quantity_short",
            "reject" if certain else "review",
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
    reasons, confidences = await _receipt_reasons(session, claim, receipts, m, skus)
    confidence = min(confidences) if confidences else 0.0
    severities = {reason["severity"] for reason in reasons}
    if isinstance(m, DisplayFee):
        reasons.append(_reason("display_needs_review", "review"))
        severities.add("review")
    claim.confidence = round(confidence, 3)
    await _settle(session, claim, promotion, m, reasons, severities, confidence)
    claim.reasons = reasons
    record_decision(session, None, claim, {"reasons": [r["code"] for r in reasons]})
    add_event(
        session,
        claim,
        "decided",
        None,
        {"status": str(claim.status), "reasons": [r["code"] for r in reasons]},
    )
    note_claim_decision(session, None, claim)
    await publish_claim(session, claim)


async def _receipt_reasons(
    session: AsyncSession,
    claim: Claim,
    receipts: list[ClaimReceipt],
    m: DisplayFee | SellOut,
    skus: frozenset[str],
) -> tuple[list[dict[str, Any]], list[float]]:
    """Every receipt's reasons (duplicates, unreadable, its own checks, SKUs) and confidences."""
    reasons: list[dict[str, Any]] = []
    confidences: list[float] = []
    for r in receipts:
        reasons += await duplicate_reasons(session, claim, r, _ocr_pool())
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
                    reason["code"],
                    reason["severity"],
                    message=reason.get("message"),
                    messageZh=reason.get("message_zh") or None,
                    receiptId=r.id,
                )
            )
        reasons += _sku_reasons(r, skus, m.min_qty)
    return reasons, confidences


async def _settle(
    session: AsyncSession,
    claim: Claim,
    promotion: Promotion,
    m: DisplayFee | SellOut,
    reasons: list[dict[str, Any]],
    severities: set[str],
    confidence: float,
) -> None:
    """Reject, send to review (saying why) or pay the claim; appends to ``reasons``."""
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
    if claim.status is ClaimStatus.REVIEW:
        await start_review_chain(session, claim, reasons)
