"""The total checked by arithmetic: items, tax, discount, rounding, cash minus change."""

from __future__ import annotations

from decimal import Decimal

from ocr.arithmetic import check_total, reconcile_total
from ocr.receipt import LineItem, ReceiptFields


def items(*amounts: int) -> tuple[LineItem, ...]:
    return tuple(
        LineItem(name=f"item {i}", qty=Decimal(1), amount=a) for i, a in enumerate(amounts)
    )


def test_items_plus_tax_minus_rounding_confirm_the_total() -> None:
    fields = ReceiptFields(total=9420, items=items(5000, 3886), amounts={"tax": 533, "rounding": 1})
    check = check_total(fields)
    assert check.verdict == "confirmed", check.evidence


def test_cash_minus_change_confirms_the_total() -> None:
    fields = ReceiptFields(total=9419, amounts={"tendered": 10000, "change": 581})
    assert check_total(fields).verdict == "confirmed"


def test_a_total_nothing_explains_is_inconsistent() -> None:
    check = check_total(ReceiptFields(total=12000, items=items(5000, 3886)))
    assert check.verdict == "inconsistent"
    assert "88.86" in check.evidence and "120.00" in check.evidence
    assert check_total(ReceiptFields(total=12000)).verdict == "unknown"


def test_a_leading_digit_added_by_ocr_is_reconciled_by_the_sums() -> None:
    assert reconcile_total(19419, [19419], 9419, {}) == 9419
    assert reconcile_total(941, [941], 9419, {}) == 9419  # a dropped digit


def test_another_labelled_candidate_that_adds_up_wins() -> None:
    # subtotal 88.86 read as the total; the labelled 94.19 adds up with tax
    assert reconcile_total(8886, [9419, 8886], 8886, {"tax": 533}) == 9419


def test_a_consistent_reading_is_kept() -> None:
    assert reconcile_total(9419, [9419], 9419, {}) == 9419
    assert reconcile_total(5000, [5000], 9419, {}) == 5000  # far off: left to review
