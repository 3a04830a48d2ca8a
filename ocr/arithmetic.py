"""Does the receipt add up? Labelled amounts (subtotal, tax, discount, rounding, cash,
change) and the checks a careful clerk makes with them.

A total that equals the item sum adjusted by tax, discount and rounding, or the cash handed
over minus the change, is confirmed; one that none of these explain while the items were
read is suspect (a misread digit, or a total painted over). Money in minor units.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import msgspec

from ocr.labels import governing
from ocr.receipt import ReceiptFields
from ocr.rowtext import ParsedRow

AMOUNT_KINDS = ("subtotal", "tax", "discount", "rounding", "tendered", "change")
Verdict = Literal["confirmed", "inconsistent", "unknown"]


class TotalCheck(msgspec.Struct, frozen=True, kw_only=True):
    """Whether the total agrees with the rest of the receipt, and what was compared."""

    verdict: Verdict
    evidence: str  # e.g. "items 94.19 + tax 5.65 = total 99.84"


def labelled_amounts(rows: list[ParsedRow]) -> dict[str, int]:
    """The amount after each of subtotal, tax, discount, rounding, tendered and change."""
    found: dict[str, int] = {}
    for row in rows:
        for money in row.money:
            label = governing(row.labels, money.start)
            if label is None or label.kind not in AMOUNT_KINDS:
                continue
            value = money.value
            if label.kind == "discount":
                value = abs(value)
            if label.kind == "tax":
                found["tax"] = found.get("tax", 0) + value
            else:
                found[label.kind] = value
    return found


def sum_items(fields: ReceiptFields) -> int | None:
    if not fields.items or any(item.amount is None for item in fields.items):
        return None
    return sum(item.amount or 0 for item in fields.items)


def expected_totals(
    items: int | None, amounts: Mapping[str, int], *, every: bool = False
) -> list[tuple[int, str]]:
    """Totals the other amounts allow, each with how it was reached (`every`: all applied)."""
    bases = ((items, "items"), (amounts.get("subtotal"), "subtotal"))
    tax, discount = amounts.get("tax", 0), amounts.get("discount", 0)
    rounding = amounts.get("rounding", 0)
    out: list[tuple[int, str]] = []
    for base, name in bases:
        if base is None:
            continue
        for with_tax in {tax} if every else {0, tax}:
            for with_discount in {discount} if every else {0, discount}:
                for with_rounding in {rounding} if every else {0, rounding}:
                    value = base + with_tax - with_discount + with_rounding
                    parts = [f"{name} {_fmt(base)}"]
                    parts += [f"+ tax {_fmt(tax)}"] if with_tax else []
                    parts += [f"- discount {_fmt(discount)}"] if with_discount else []
                    sign = "+" if rounding > 0 else "-"
                    parts += [f"{sign} rounding {_fmt(abs(rounding))}"] if with_rounding else []
                    out.append((value, " ".join(parts)))
    tendered, change = amounts.get("tendered"), amounts.get("change")
    if tendered is not None and change is not None and tendered > change:
        out.append((tendered - change, f"cash {_fmt(tendered)} - change {_fmt(change)}"))
    return out


def _fmt(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}" if value >= 0 else f"-{_fmt(-value)}"


def check_total(fields: ReceiptFields) -> TotalCheck:
    """Confirm the total by arithmetic, find it inconsistent, or say nothing can be told."""
    if fields.total is None:
        return TotalCheck(verdict="unknown", evidence="no total")
    expected = expected_totals(sum_items(fields), fields.amounts)
    for value, how in expected:
        if value == fields.total:
            return TotalCheck(verdict="confirmed", evidence=f"{how} = total {_fmt(value)}")
    if not expected:
        return TotalCheck(verdict="unknown", evidence="nothing to compare the total with")
    value, how = expected[0]
    return TotalCheck(
        verdict="inconsistent",
        evidence=f"{how} = {_fmt(value)}, total read {_fmt(fields.total)}",
    )


def _one_edit(a: str, b: str) -> bool:
    """True when `b` is `a` with one character added, dropped or changed."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def reconcile_total(
    read: int | None, candidates: list[int], items: int | None, amounts: Mapping[str, int]
) -> int | None:
    """The total that makes the receipt add up, when the labelled pick does not.

    Another labelled candidate that the arithmetic confirms wins; so does the arithmetic's
    value when the reading is one digit off it (a leading 1 added, a digit dropped).
    """
    expected = {value for value, _ in expected_totals(items, amounts) if value > 0}
    full = {value for value, _ in expected_totals(items, amounts, every=True) if value > 0}
    if read is not None and read not in full:
        # a subtotal picked while a labelled total adds up with every adjustment read
        complete = [c for c in candidates if c in full]
        if complete:
            return complete[-1]
    if read is None or read in expected or not expected:
        return read
    confirmed = [c for c in candidates if c in expected]
    if confirmed:
        return confirmed[-1]
    near = [v for v in expected if _one_edit(str(read), str(v))]
    return near[0] if len(near) == 1 else read
