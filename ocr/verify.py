"""Check a scanned receipt against a claim's expectations -> approve | review | reject.

A reject needs strong evidence: a field read with good confidence, that arithmetic or the
calendar does not put in doubt (a date outside the window but plausibly printed, a total
below the minimum that the receipt's own sums confirm, a quantity that qty x price
confirms, a known duplicate). A doubtful field, a low-confidence read, a promoted item not
found or an inconsistent total goes to a person with the evidence. Every reason carries an
English and a zh-CN message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

import msgspec
from rapidfuzz import fuzz

from ocr.arithmetic import check_total
from ocr.matching import Product, SkuMatch, match_items
from ocr.receipt import LineItem, ReceiptScan
from ocr.textnorm import compact, format_minor

Decision = Literal["approve", "review", "reject"]
Severity = Literal["reject", "review", "info"]
STRONG_READ = 0.9  # a field's OCR score from which a reject may rest on it
PLAUSIBLE_DAYS = 400  # a date further than this from the window is more likely misread


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
    min_confidence: float = 0.85
    match_threshold: float = 80.0
    merchant_threshold: float = 85.0


class Reason(msgspec.Struct, frozen=True, kw_only=True):
    """Why a check did not pass (or an informative note)."""

    code: str
    severity: Severity
    message: str
    message_zh: str = ""


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


class _Reasons:
    """The reasons collected for one receipt."""

    def __init__(self) -> None:
        self.items: list[Reason] = []

    def add(self, code: str, severity: Severity, message: str, message_zh: str) -> None:
        self.items.append(
            Reason(code=code, severity=severity, message=message, message_zh=message_zh)
        )


def _field_score(scan: ReceiptScan, name: str) -> float:
    return scan.fields.field_scores.get(name, scan.confidence)


def _check_date(scan: ReceiptScan, e: ClaimExpectations, out: _Reasons) -> None:
    date = scan.fields.date
    if not (e.window_start or e.window_end):
        return
    if date is None:
        out.add("date_missing", "review", "the receipt date could not be read", "无法识别小票日期")
        return
    before = e.window_start is not None and date < e.window_start
    after = e.window_end is not None and date > e.window_end
    if not (before or after):
        return
    edge = e.window_start if before else e.window_end
    assert edge is not None
    plausible = abs((date - edge).days) <= PLAUSIBLE_DAYS
    strong = plausible and _field_score(scan, "date") >= STRONG_READ
    code, word, word_zh = (
        ("date_before_window", "before", "早于")
        if before
        else ("date_after_window", "after", "晚于")
    )
    if strong:
        out.add(
            code,
            "reject",
            f"receipt dated {date} is {word} {edge}",
            f"小票日期 {date} {word_zh}活动{'开始' if before else '结束'}日期 {edge}",
        )
    else:
        out.add(
            f"{code}_doubtful",
            "review",
            f"receipt date read as {date}, {word} {edge}; it may be a misreading",
            f"小票日期识别为 {date},{word_zh}活动日期 {edge},可能识别有误",
        )


def _check_total(scan: ReceiptScan, e: ClaimExpectations, out: _Reasons) -> None:
    fields = scan.fields
    check = check_total(fields)
    if check.verdict == "inconsistent":
        out.add(
            "total_inconsistent",
            "review",
            f"the total does not add up: {check.evidence}",
            f"小票金额与明细不符:{check.evidence}",
        )
    if e.min_total is None:
        if fields.total is None:
            out.add(
                "total_missing", "review", "the receipt total could not be read", "无法识别小票金额"
            )
        return
    if fields.total is None:
        out.add(
            "total_missing", "review", "the receipt total could not be read", "无法识别小票金额"
        )
    elif fields.total < e.min_total:
        got, need = format_minor(fields.total), format_minor(e.min_total)
        strong = check.verdict == "confirmed" and _field_score(scan, "total") >= STRONG_READ
        out.add(
            "total_below_minimum" if strong else "total_below_minimum_doubtful",
            "reject" if strong else "review",
            f"total {got} is below {need}"
            + ("" if strong else " (not confirmed by the receipt's sums)"),
            f"小票金额 {got} 低于最低金额 {need}" + ("" if strong else "(金额未经明细核对)"),
        )
    if e.currency and fields.currency and fields.currency != e.currency:
        out.add(
            "currency_mismatch",
            "review",
            f"receipt currency {fields.currency}, claim expects {e.currency}",
            f"小票币种为 {fields.currency},活动要求 {e.currency}",
        )


def _check_shop(scan: ReceiptScan, e: ClaimExpectations, out: _Reasons) -> None:
    fields = scan.fields
    if e.merchants:
        if fields.merchant is None:
            out.add(
                "merchant_missing", "review", "the shop name could not be read", "无法识别商户名称"
            )
        else:
            score = _merchant_score(fields.merchant, e.merchants)
            if score < e.merchant_threshold:
                strong = score < 60 and _field_score(scan, "merchant") >= STRONG_READ
                out.add(
                    "merchant_not_allowed",
                    "reject" if strong else "review",
                    f"shop {fields.merchant!r} is not on the claim's list",
                    f"商户「{fields.merchant}」不在活动指定商户名单内",
                )
    if e.regions:
        address = compact(fields.address or "")
        merchant = compact(fields.merchant or "")
        if not address and not merchant:
            out.add(
                "region_unknown",
                "review",
                "no address to check the region against",
                "无地址可核对区域",
            )
        elif not any(compact(r) in address or compact(r) in merchant for r in e.regions):
            out.add(
                "region_mismatch",
                "review",
                "the shop address is outside the claim's regions (窜货?)",
                "商户地址不在活动区域内(疑似窜货)",
            )


def _qty_confirmed(item: LineItem) -> bool:
    """qty x unit price = amount: the quantity was read right."""
    if item.qty is None or item.unit_price is None or item.amount is None:
        return False
    return abs(item.qty * item.unit_price - item.amount) <= 1


def _check_products(
    scan: ReceiptScan, e: ClaimExpectations, matches: tuple[SkuMatch, ...], out: _Reasons
) -> None:
    items = scan.fields.items
    for required in e.required:
        found = [m for m in matches if m.sku == required.sku]
        qty = sum((m.qty if m.qty is not None else Decimal(1)) for m in found)
        if not found:
            out.add(
                "sku_missing",
                "review",
                f"product {required.sku} was not found on the receipt",
                f"小票上未找到活动商品 {required.sku}",
            )
        elif qty < required.min_qty:
            strong = scan.confidence >= e.min_confidence and all(
                m.score >= 90 and _qty_confirmed(items[m.item_index]) for m in found
            )
            out.add(
                "sku_quantity_short",
                "reject" if strong else "review",
                f"product {required.sku}: {qty} bought, {required.min_qty} required",
                f"活动商品 {required.sku}:购买 {qty} 件,要求 {required.min_qty} 件",
            )
        elif min(m.score for m in found) < 90:
            out.add(
                "sku_uncertain_match",
                "info",
                f"product {required.sku} matched by a similar name",
                f"活动商品 {required.sku} 按相近名称匹配",
            )


def verify_receipt(scan: ReceiptScan, expectations: ClaimExpectations) -> ClaimDecision:
    """Decide a claim from one scanned receipt."""
    out = _Reasons()
    e = expectations
    if not scan.lines:
        out.add("no_text", "review", "no text was found on the image", "图片中未识别到文字")
    elif scan.confidence < e.min_confidence:
        out.add(
            "low_confidence",
            "review",
            f"OCR confidence {scan.confidence:.2f} is below {e.min_confidence:.2f}",
            f"识别置信度 {scan.confidence:.2f} 低于 {e.min_confidence:.2f}",
        )
    if scan.fingerprint and scan.fingerprint in e.seen_fingerprints:
        out.add(
            "duplicate_content",
            "reject",
            "a receipt with the same shop, date, number and total was already claimed",
            "同一商户、日期、小票号和金额的小票已被核销",
        )
    _check_date(scan, e, out)
    _check_total(scan, e, out)
    _check_shop(scan, e, out)
    matches = match_items(scan.fields.items, e.products, threshold=e.match_threshold)
    _check_products(scan, e, matches, out)
    severities = {reason.severity for reason in out.items}
    decision: Decision = (
        "reject" if "reject" in severities else "review" if "review" in severities else "approve"
    )
    confidence = scan.confidence
    if decision == "approve" and matches and e.required:
        matched = [m.score for m in matches if m.sku is not None]
        confidence = min(confidence, (min(matched) / 100) if matched else confidence)
    return ClaimDecision(
        decision=decision,
        confidence=round(confidence, 3),
        reasons=tuple(out.items),
        matches=matches,
    )
