"""Has this receipt been claimed before? Earlier receipts looked up by what they say.

"Earlier" is by time: a receipt of a claim submitted before this one (or an earlier upload
to the same claim); cancelled claims do not count. The same file, or the same shop with
the same receipt number (or date, time and total), rejects and names the earlier claim. A
photo whose keypoints match an earlier one while the text differs goes to review, as do a
receipt number out of sequence for the shop and a receipt dated after its upload. Keypoint
matching is CPU work: it runs in the OCR thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import Executor
from typing import Any

import msgspec
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ocr import (
    Finding,
    ImageMatch,
    PriorReceipt,
    ReceiptFields,
    compare,
    dated_after_upload,
    hash_distance,
    match_features,
    out_of_sequence,
)
from server.claims.models import Claim, ClaimReceipt, ClaimStatus, ReceiptStatus

IMAGE_CANDIDATES = 40  # earlier receipts of the same shop compared image to image
HASH_PREFILTER_BITS = 16  # a loose perceptual-hash radius that finds other candidates
SEQUENCE_CANDIDATES = 50


def reason(
    code: str, severity: str, message: str, message_zh: str = "", **extra: Any
) -> dict[str, Any]:
    """A claim reason as stored in ``Claim.reasons`` (camelCase keys, ids as strings)."""
    out: dict[str, Any] = {"code": code, "severity": severity, "message": message}
    if message_zh:
        out["messageZh"] = message_zh
    out.update({k: str(v) for k, v in extra.items() if v is not None})
    return out


def _from_finding(finding: Finding, receipt: ClaimReceipt) -> dict[str, Any]:
    return reason(
        finding.code,
        finding.severity,
        finding.message,
        finding.message_zh,
        receiptId=receipt.id,
        earlierClaimId=finding.earlier_claim,
    )


def _earlier(claim: Claim, receipt: ClaimReceipt) -> Any:
    """Receipts submitted before this one, by the claims' submission time."""
    mine = claim.submitted_at
    same_claim_before = and_(
        ClaimReceipt.claim_id == claim.id, ClaimReceipt.created_at < receipt.created_at
    )
    if mine is None:
        return same_claim_before
    before = or_(Claim.submitted_at < mine, and_(Claim.submitted_at == mine, Claim.id < claim.id))
    return or_(same_claim_before, and_(ClaimReceipt.claim_id != claim.id, before))


def _others(claim: Claim, receipt: ClaimReceipt) -> Select[ClaimReceipt]:
    return (
        select(ClaimReceipt)
        .join(Claim, Claim.id == ClaimReceipt.claim_id)
        .where(
            ClaimReceipt.id != receipt.id,
            Claim.status != ClaimStatus.CANCELLED,
            _earlier(claim, receipt),
        )
    )


def _prior(row: ClaimReceipt) -> PriorReceipt:
    fields = msgspec.convert(row.fields or {}, ReceiptFields)
    return PriorReceipt(claim=str(row.claim_id), receipt=str(row.id), fields=fields)


def _fields(receipt: ClaimReceipt) -> ReceiptFields | None:
    if receipt.status is not ReceiptStatus.SCANNED or receipt.fields is None:
        return None
    return msgspec.convert(receipt.fields, ReceiptFields)


async def _same_content(
    session: AsyncSession, claim: Claim, receipt: ClaimReceipt, fields: ReceiptFields
) -> list[Finding]:
    keys = [
        column == value
        for column, value in (
            (ClaimReceipt.number_key, receipt.number_key),
            (ClaimReceipt.moment_key, receipt.moment_key),
        )
        if value
    ]
    if not keys:
        return []
    rows = await session.scalars(
        _others(claim, receipt)
        .where(or_(*keys), ClaimReceipt.status == ReceiptStatus.SCANNED)
        .order_by(Claim.submitted_at, ClaimReceipt.created_at)
    )
    found = [compare(fields, _prior(row), None) for row in rows]
    return [f for f in found if f is not None]


async def _image_candidates(
    session: AsyncSession, claim: Claim, receipt: ClaimReceipt
) -> list[ClaimReceipt]:
    """Earlier receipts of the same shop, and those whose perceptual hash is near."""
    has_features = ClaimReceipt.image_features.is_not(None)
    chosen: dict[Any, ClaimReceipt] = {}
    if receipt.merchant_key:
        rows = await session.scalars(
            _others(claim, receipt)
            .where(has_features, ClaimReceipt.merchant_key == receipt.merchant_key)
            .order_by(ClaimReceipt.created_at.desc())
            .limit(IMAGE_CANDIDATES)
        )
        chosen.update((row.id, row) for row in rows)
    if receipt.image_hash:
        # TODO(scale): a linear scan of the hashes; index hash chunks when it grows.
        hashes = await session.execute(
            _others(claim, receipt)
            .with_only_columns(ClaimReceipt.id, ClaimReceipt.image_hash)
            .where(has_features, ClaimReceipt.image_hash.is_not(None))
        )
        near = sorted(
            (hash_distance(receipt.image_hash, other), rid)
            for rid, other in hashes
            if other and hash_distance(receipt.image_hash, other) <= HASH_PREFILTER_BITS
        )[:IMAGE_CANDIDATES]
        missing = [rid for _, rid in near if rid not in chosen]
        if missing:
            rows = await session.scalars(select(ClaimReceipt).where(ClaimReceipt.id.in_(missing)))
            chosen.update((row.id, row) for row in rows)
    return list(chosen.values())


def _match_all(mine: bytes, blobs: list[bytes]) -> list[ImageMatch]:
    return [match_features(mine, blob) for blob in blobs]


async def _image_findings(
    session: AsyncSession,
    claim: Claim,
    receipt: ClaimReceipt,
    fields: ReceiptFields | None,
    executor: Executor | None,
) -> list[Finding]:
    if not receipt.image_features:
        return []
    candidates = await _image_candidates(session, claim, receipt)
    if not candidates:
        return []
    blobs = [row.image_features or b"" for row in candidates]
    call = functools.partial(_match_all, receipt.image_features, blobs)
    matches = await asyncio.get_running_loop().run_in_executor(executor, call)
    out: list[Finding] = []
    for row, match in zip(candidates, matches, strict=True):
        if not match.same:
            continue
        finding = compare(fields or ReceiptFields(), _prior(row), match)
        if finding is not None:
            out.append(finding)
    return out


async def _sequence(
    session: AsyncSession, receipt: ClaimReceipt, fields: ReceiptFields
) -> Finding | None:
    if not receipt.merchant_key or not receipt.number_key:
        return None
    rows = await session.scalars(
        select(ClaimReceipt)
        .where(
            ClaimReceipt.id != receipt.id,
            ClaimReceipt.merchant_key == receipt.merchant_key,
            ClaimReceipt.number_key.is_not(None),
            ClaimReceipt.status == ReceiptStatus.SCANNED,
        )
        .order_by(ClaimReceipt.created_at.desc())
        .limit(SEQUENCE_CANDIDATES)
    )
    return out_of_sequence(fields, [_prior(row) for row in rows])


async def duplicate_reasons(
    session: AsyncSession, claim: Claim, receipt: ClaimReceipt, executor: Executor | None = None
) -> list[dict[str, Any]]:
    """Reasons this receipt repeats (or may repeat) an earlier one; each names the claim."""
    same_bytes = (
        await session.execute(
            _others(claim, receipt)
            .with_only_columns(ClaimReceipt.claim_id)
            .where(ClaimReceipt.sha256 == receipt.sha256)
            .order_by(Claim.submitted_at)
        )
    ).first()
    if same_bytes is not None:
        return [
            reason(
                "duplicate_image",
                "reject",
                f"the same photo was already submitted with claim {same_bytes.claim_id}",
                f"同一张照片已在核销单 {same_bytes.claim_id} 中提交",
                receiptId=receipt.id,
                earlierClaimId=same_bytes.claim_id,
            )
        ]
    pending = await _pending_earlier(session, claim, receipt)
    if pending is not None:
        return [pending]
    fields = _fields(receipt)
    findings: list[Finding] = []
    if fields is not None:
        findings = await _same_content(session, claim, receipt, fields)
    if not any(f.severity == "reject" for f in findings):
        findings += await _image_findings(session, claim, receipt, fields, executor)
    if fields is not None:
        sequence = await _sequence(session, receipt, fields)
        after = dated_after_upload(fields, receipt.created_at.date())
        findings += [f for f in (sequence, after) if f is not None]
    rejects = [f for f in findings if f.severity == "reject"]
    kept = rejects[:1] if rejects else _first_per_code(findings)
    return [_from_finding(f, receipt) for f in kept]


async def _pending_earlier(
    session: AsyncSession, claim: Claim, receipt: ClaimReceipt
) -> dict[str, Any] | None:
    """An earlier-submitted receipt not read yet: this one cannot be cleared against it."""
    if claim.submitted_at is None:
        return None
    row = (
        await session.execute(
            _others(claim, receipt)
            .with_only_columns(ClaimReceipt.claim_id)
            .where(
                ClaimReceipt.status == ReceiptStatus.UPLOADED,
                Claim.status == ClaimStatus.PROCESSING,
                ClaimReceipt.claim_id != claim.id,
            )
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return reason(
        "earlier_claim_unread",
        "review",
        f"claim {row.claim_id}, submitted earlier, is still being read; "
        "a person compares the receipts",
        f"更早提交的核销单 {row.claim_id} 仍在识别中,需人工比对小票",
        receiptId=receipt.id,
        earlierClaimId=row.claim_id,
    )


def _first_per_code(findings: list[Finding]) -> list[Finding]:
    seen: set[str] = set()
    out: list[Finding] = []
    for finding in findings:
        if finding.code not in seen:
            seen.add(finding.code)
            out.append(finding)
    return out
