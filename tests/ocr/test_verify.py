"""Claim verification: approve, review or reject, with reasons."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ocr.matching import Product
from ocr.receipt import LineItem, ReceiptFields, ReceiptScan, TextLine
from ocr.verify import ClaimExpectations, RequiredSku, verify_receipt

LINE = TextLine(text="x", box=((0, 0), (1, 0), (1, 1), (0, 1)), score=0.99)
PRODUCTS = (
    Product(sku="CK500", name="可口可乐 500ml"),
    Product(sku="NF550", name="农夫山泉 550ml"),
)


def make_scan(confidence: float = 0.97, **changes: object) -> ReceiptScan:
    values: dict[str, object] = {
        "merchant": "华润万家超市(南山店)",
        "date": dt.date(2026, 11, 20),
        "receipt_no": "0012026112008341",
        "total": 18630,
        "currency": "CNY",
        "address": "深圳市南山区南海大道1088号",
        "items": (
            LineItem(name="可口可乐500ml", qty=Decimal(6), unit_price=350, amount=2100),
            LineItem(name="农夫山泉550ml", qty=Decimal(2), unit_price=200, amount=400),
            LineItem(name="金龙鱼调和油5L", qty=Decimal(1), unit_price=16130, amount=16130),
        ),
    }
    values.update(changes)
    fields = ReceiptFields(**values)  # type: ignore[arg-type]
    return ReceiptScan(
        fields=fields,
        lines=(LINE,),
        confidence=confidence,
        elapsed_ms=700,
        engine="rapidocr",
        image_hash="ffd8a0c0e0f0f8fc",
        fingerprint="abc",
    )


def expectations(**changes: object) -> ClaimExpectations:
    values: dict[str, object] = {
        "window_start": dt.date(2026, 11, 1),
        "window_end": dt.date(2026, 11, 30),
        "min_total": 10000,
        "currency": "CNY",
        "required": (RequiredSku(sku="CK500", min_qty=Decimal(6)),),
        "products": PRODUCTS,
        "regions": ("深圳",),
        "merchants": ("华润万家",),
    }
    values.update(changes)
    return ClaimExpectations(**values)  # type: ignore[arg-type]


def codes(decision_reasons: object) -> set[str]:
    return {reason.code for reason in decision_reasons}  # type: ignore[attr-defined]


def test_everything_in_order_is_approved() -> None:
    decision = verify_receipt(make_scan(), expectations())
    assert decision.decision == "approve", decision.reasons
    assert decision.confidence > 0.9
    assert [m.sku for m in decision.matches] == ["CK500", "NF550", None]


def test_outside_the_window_is_rejected() -> None:
    decision = verify_receipt(make_scan(date=dt.date(2026, 12, 2)), expectations())
    assert decision.decision == "reject"
    assert "date_after_window" in codes(decision.reasons)


def test_a_date_years_away_from_the_window_is_a_misreading_for_review() -> None:
    for misread in (dt.date(2011, 11, 20), dt.date(2023, 11, 20), dt.date(2024, 1, 26)):
        decision = verify_receipt(make_scan(date=misread), expectations())
        assert decision.decision == "review", misread
        assert "date_before_window_doubtful" in codes(decision.reasons)


def test_a_weakly_read_date_outside_the_window_is_reviewed() -> None:
    scan = make_scan(date=dt.date(2026, 10, 28), field_scores={"date": 0.6, "total": 0.99})
    decision = verify_receipt(scan, expectations())
    assert decision.decision == "review"
    [reason] = [r for r in decision.reasons if r.code == "date_before_window_doubtful"]
    assert "2026-10-28" in reason.message and "2026-10-28" in reason.message_zh


def test_below_minimum_amount_confirmed_by_the_items_is_rejected() -> None:
    items = (
        LineItem(name="可口可乐500ml", qty=Decimal(6), unit_price=350, amount=2100),
        LineItem(name="乐事薯片70g", qty=Decimal(1), unit_price=7890, amount=7890),
    )
    decision = verify_receipt(make_scan(total=9990, items=items), expectations())
    assert decision.decision == "reject"
    assert "total_below_minimum" in codes(decision.reasons)


def test_below_minimum_that_does_not_add_up_is_reviewed() -> None:
    decision = verify_receipt(make_scan(total=9990), expectations())
    assert decision.decision == "review"
    assert {"total_below_minimum_doubtful", "total_inconsistent"} <= codes(decision.reasons)


def test_a_total_the_items_do_not_explain_is_reviewed_with_the_sums() -> None:
    decision = verify_receipt(make_scan(total=28630), expectations())
    assert decision.decision == "review"
    [reason] = [r for r in decision.reasons if r.code == "total_inconsistent"]
    assert "186.30" in reason.message and "286.30" in reason.message


def test_too_few_units_is_rejected() -> None:
    decision = verify_receipt(
        make_scan(), expectations(required=(RequiredSku(sku="CK500", min_qty=Decimal(12)),))
    )
    assert decision.decision == "reject"
    assert "sku_quantity_short" in codes(decision.reasons)


def test_a_promoted_product_not_found_goes_to_review() -> None:
    items = (LineItem(name="雪碧500ml", qty=Decimal(6), amount=18630),)
    decision = verify_receipt(make_scan(items=items), expectations())
    assert decision.decision == "review"
    assert "sku_missing" in codes(decision.reasons)


def test_low_confidence_never_approves() -> None:
    decision = verify_receipt(make_scan(confidence=0.55), expectations())
    assert decision.decision == "review"
    assert "low_confidence" in codes(decision.reasons)


def test_unreadable_total_goes_to_review() -> None:
    decision = verify_receipt(make_scan(total=None), expectations())
    assert decision.decision == "review"
    assert "total_missing" in codes(decision.reasons)


def test_other_region_is_flagged_for_review() -> None:
    decision = verify_receipt(make_scan(address="广州市天河区天河路208号"), expectations())
    assert decision.decision == "review"
    assert "region_mismatch" in codes(decision.reasons)


def test_merchant_not_on_the_list_is_rejected() -> None:
    decision = verify_receipt(make_scan(merchant="永辉超市(福田店)"), expectations())
    assert decision.decision == "reject"
    assert "merchant_not_allowed" in codes(decision.reasons)


def test_a_known_content_fingerprint_is_rejected() -> None:
    decision = verify_receipt(make_scan(), expectations(seen_fingerprints=frozenset({"abc"})))
    assert decision.decision == "reject"
    assert "duplicate_content" in codes(decision.reasons)
    assert all(reason.message_zh for reason in decision.reasons)


def test_no_text_is_reviewed_with_zero_confidence() -> None:
    empty = ReceiptScan(
        fields=ReceiptFields(), lines=(), confidence=0.0, elapsed_ms=5, engine="rapidocr"
    )
    decision = verify_receipt(empty, ClaimExpectations())
    assert decision.decision == "review"
    assert decision.confidence == 0.0
