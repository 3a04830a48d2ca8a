"""Check a scanned receipt against a claim's expectations -> approve | review | reject.

A reject needs positive evidence read with good confidence (a date outside the window, a
total below the minimum, a known duplicate). Anything the reader is unsure of, or could not
read, goes to a person: low OCR confidence never approves silently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

import msgspec
from rapidfuzz import fuzz

from ocr.fingerprint import is_same_image
from ocr.matching import Product, SkuMatch, match_items
from ocr.receipt import ReceiptScan
from ocr.textnorm import compact, format_minor

Decision = Literal["approve", "review", "reject"]
Severity = Literal["reject", "review", "info"]


class RequiredSku(msgspec.Struct, frozen=True, kw_only=True):
    """A product the receipt must show, at least `min_qty` units."""

    sku: str
    min_qty: Decimal = Decimal(1)


class ClaimExpectations(msgspec.Struct, frozen=True, kw_only=True):
    """What a promotion claim says the receipt proves; money in minor units."""

    window_start: dt.date | None = None
    window_end: dt.date | None = None
    min_total: int | None = None
    currency: str | None = None
    required: tuple[RequiredSku, ...] = ()
    products: tuple[Product, ...] = ()
    regions: tuple[str, ...] = ()  # e.g. ("深圳", "广东"); matched against the address
    merchants: tuple[str, ...] = ()  # allow-list; empty means any merchant
    seen_fingerprints: frozenset[str] = frozenset()
    seen_image_hashes: tuple[str, ...] = ()
    min_confidence: float = 0.85
    match_threshold: float = 80.0
    merchant_threshold: float = 85.0


class Reason(msgspec.Struct, frozen=True, kw_only=True):
    """Why a check did not pass (or an informative note)."""

    code: str
    severity: Severity
    message: str
    params: dict[str, str] = msgspec.field(default_factory=dict[str, str])  # for translations


class ClaimDecision(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome for one receipt."""

    decision: Decision
    confidence: float
    reasons: tuple[Reason, ...]
    matches: tuple[SkuMatch, ...] = ()


def _merchant_score(merchant: str, allowed: Sequence[str]) -> float:
    """Best rapidfuzz partial ratio between the shop name and an allowed name."""
    name = compact(merchant)
    return max((fuzz.partial_ratio(compact(a), name) for a in allowed if compact(a)), default=0.0)


def verify_receipt(scan: ReceiptScan, expectations: ClaimExpectations) -> ClaimDecision:
    """Decide a claim from one scanned receipt."""
    fields = scan.fields
    reasons: list[Reason] = []

    def add(code: str, severity: Severity, message: str, **params: object) -> None:
        texts = {k: str(v) for k, v in params.items()}
        reasons.append(Reason(code=code, severity=severity, message=message, params=texts))

    low_confidence = scan.confidence < expectations.min_confidence
    if not scan.lines:
        add("no_text", "review", "no text was found on the image")
    elif low_confidence:
        add(
            "low_confidence",
            "review",
            f"OCR confidence {scan.confidence:.2f} is below {expectations.min_confidence:.2f}",
            confidence=f"{scan.confidence:.2f}",
            minimum=f"{expectations.min_confidence:.2f}",
        )

    # Duplicates
    if scan.fingerprint and scan.fingerprint in expectations.seen_fingerprints:
        add(
            "duplicate_content",
            "reject",
            "a receipt with the same shop, date, number and total was already claimed",
        )
    if scan.image_hash and any(
        is_same_image(scan.image_hash, seen) for seen in expectations.seen_image_hashes
    ):
        add("duplicate_image", "reject", "this photo (or a near copy) was already submitted")

    # Date window
    if expectations.window_start or expectations.window_end:
        if fields.date is None:
            add("date_missing", "review", "the receipt date could not be read")
        elif expectations.window_start and fields.date < expectations.window_start:
            add(
                "date_before_window",
                "reject",
                f"receipt dated {fields.date} is before {expectations.window_start}",
                date=fields.date,
                start=expectations.window_start,
            )
        elif expectations.window_end and fields.date > expectations.window_end:
            add(
                "date_after_window",
                "reject",
                f"receipt dated {fields.date} is after {expectations.window_end}",
                date=fields.date,
                end=expectations.window_end,
            )

    # Amount
    if expectations.min_total is not None:
        if fields.total is None:
            add("total_missing", "review", "the receipt total could not be read")
        elif fields.total < expectations.min_total:
            add(
                "total_below_minimum",
                "reject",
                f"total {format_minor(fields.total)} is below "
                f"{format_minor(expectations.min_total)}",
                total=format_minor(fields.total),
                minimum=format_minor(expectations.min_total),
            )
    if expectations.currency and fields.currency and fields.currency != expectations.currency:
        add(
            "currency_mismatch",
            "review",
            f"receipt currency {fields.currency}, claim expects {expectations.currency}",
            currency=fields.currency,
            expected=expectations.currency,
        )

    # Merchant allow-list
    if expectations.merchants:
        if fields.merchant is None:
            add("merchant_missing", "review", "the shop name could not be read")
        else:
            score = _merchant_score(fields.merchant, expectations.merchants)
            if score < expectations.merchant_threshold:
                add(
                    "merchant_not_allowed",
                    "review" if score >= 60 else "reject",
                    f"shop {fields.merchant!r} is not on the claim's list",
                    merchant=fields.merchant,
                )

    # Region (cross-region sales are flagged for a person, never silently allowed)
    if expectations.regions:
        address = compact(fields.address or "")
        merchant = compact(fields.merchant or "")
        if not address and not merchant:
            add("region_unknown", "review", "no address to check the region against")
        elif not any(compact(r) in address or compact(r) in merchant for r in expectations.regions):
            add(
                "region_mismatch",
                "review",
                "the shop address is outside the claim's regions (窜货?)",
            )

    # Products and quantities
    matches = match_items(
        fields.items, expectations.products, threshold=expectations.match_threshold
    )
    for required in expectations.required:
        found = [m for m in matches if m.sku == required.sku]
        qty = sum((m.qty if m.qty is not None else Decimal(1)) for m in found)
        if not found:
            severity: Severity = "reject" if fields.items and not low_confidence else "review"
            add("sku_missing", severity, f"product {required.sku} is not on the receipt")
        elif qty < required.min_qty:
            add(
                "sku_quantity_short",
                "reject" if not low_confidence else "review",
                f"product {required.sku}: {qty} bought, {required.min_qty} required",
                sku=required.sku,
                qty=qty,
                required=required.min_qty,
            )
        elif min(m.score for m in found) < 90:
            add(
                "sku_uncertain_match",
                "info",
                f"product {required.sku} matched by a similar name",
                sku=required.sku,
            )

    if fields.total is None and expectations.min_total is None:
        add("total_missing", "review", "the receipt total could not be read")

    severities = {reason.severity for reason in reasons}
    decision: Decision = (
        "reject" if "reject" in severities else "review" if "review" in severities else "approve"
    )
    confidence = scan.confidence
    if decision == "approve" and matches and expectations.required:
        matched = [m.score for m in matches if m.sku is not None]
        confidence = min(confidence, (min(matched) / 100) if matched else confidence)
    return ClaimDecision(
        decision=decision, confidence=round(confidence, 3), reasons=tuple(reasons), matches=matches
    )
