"""Volume breaks (阶梯价): validation of break tables and pricing a quantity.

A price item has a base ``unit_price`` for quantities from 1 and an optional table of
breaks, each ``(min_qty, unit_price[, max_qty])``. Kinds:

- ``range``: every unit is priced at the break the quantity reaches
  (10 units, breaks ``10 -> 90``: 10 x 90 = 900).
- ``slab``: each unit is priced in the break it falls into, like tax brackets
  (base 100, breaks ``10 -> 90``: 12 units = 9 x 100 + 3 x 90 = 1170).

A valid table has ``min_qty`` >= 2 strictly increasing, prices that never rise (the first
break not above the base price), and, where ``max_qty`` is given (as an import from a
spreadsheet "from-to" column would), no overlap or gap with the next break; the last break
is open-ended. ``validate_breaks`` lists every issue (for the Excel import);
``check_breaks`` raises ``InvalidBreakTable``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import msgspec

from server.pricing.errors import BreakIssue, InvalidBreakTable


class BreakKind(StrEnum):
    """How a break table prices a quantity."""

    RANGE = "range"
    SLAB = "slab"


class VolumeBreak(msgspec.Struct, frozen=True, kw_only=True):
    """One break: from ``min_qty`` units (to ``max_qty`` inclusive, if given) at ``unit_price``."""

    min_qty: int
    unit_price: int
    max_qty: int | None = None


class BreakPrice(msgspec.Struct, frozen=True, kw_only=True):
    """A quantity priced through a break table.

    ``amount`` is exact. ``unit_price`` is the price of the break reached (range) or the
    average unit price rounded half-up (slab, informational: ``amount`` is authoritative).
    ``tier`` is the index of the highest break reached, -1 for the base price.
    """

    amount: int
    unit_price: int
    tier: int


def validate_breaks(base_unit_price: int, breaks: Sequence[VolumeBreak]) -> list[BreakIssue]:
    """Every problem of a break table, in row order (empty when valid)."""
    issues: list[BreakIssue] = []
    if base_unit_price < 0:
        issues.append(BreakIssue(row=None, code="price_negative", message="基础单价不能为负"))
    prev: VolumeBreak | None = None
    for row, brk in enumerate(breaks):
        label = f"第 {row + 1} 档"
        if brk.min_qty < 2:
            issues.append(
                BreakIssue(
                    row=row,
                    code="break_min_qty_too_small",
                    message=f"{label}起始数量须 ≥ 2（数量 1 起按基础单价）",
                )
            )
        if brk.unit_price < 0:
            issues.append(
                BreakIssue(row=row, code="price_negative", message=f"{label}单价不能为负")
            )
        if brk.max_qty is not None and brk.max_qty < brk.min_qty:
            issues.append(
                BreakIssue(
                    row=row,
                    code="break_empty_range",
                    message=f"{label}截止数量 {brk.max_qty} 小于起始数量 {brk.min_qty}",
                )
            )
        ceiling = base_unit_price if prev is None else prev.unit_price
        if brk.unit_price > ceiling:
            issues.append(
                BreakIssue(
                    row=row,
                    code="break_price_rises",
                    message=(
                        f"{label}单价 {brk.unit_price} 高于上一档 {ceiling}，阶梯价不能随数量上升"
                    ),
                )
            )
        if prev is not None:
            issues.extend(_check_adjacent(row, prev, brk))
        prev = brk
    if prev is not None and prev.max_qty is not None:
        issues.append(
            BreakIssue(
                row=len(breaks) - 1,
                code="break_not_open_ended",
                message=f"最后一档须不设截止数量（当前截止于 {prev.max_qty}）",
            )
        )
    return issues


def _check_adjacent(row: int, prev: VolumeBreak, brk: VolumeBreak) -> list[BreakIssue]:
    label = f"第 {row + 1} 档"
    if brk.min_qty < prev.min_qty:
        return [
            BreakIssue(
                row=row,
                code="break_unsorted",
                message=(
                    f"{label}起始数量 {brk.min_qty} 小于上一档 {prev.min_qty}，须按数量升序排列"
                ),
            )
        ]
    if brk.min_qty == prev.min_qty:
        return [
            BreakIssue(
                row=row,
                code="break_overlap",
                message=f"{label}与上一档起始数量相同（{brk.min_qty}）",
            )
        ]
    if prev.max_qty is not None:
        if prev.max_qty >= brk.min_qty:
            return [
                BreakIssue(
                    row=row,
                    code="break_overlap",
                    message=f"{label}起始数量 {brk.min_qty} 与上一档（至 {prev.max_qty}）重叠",
                )
            ]
        if prev.max_qty < brk.min_qty - 1:
            return [
                BreakIssue(
                    row=row,
                    code="break_gap",
                    message=f"上一档止于 {prev.max_qty}，{label}起于 {brk.min_qty}，中间数量无价格",
                )
            ]
    return []


def check_breaks(sku: str, base_unit_price: int, breaks: Sequence[VolumeBreak]) -> None:
    """Raise ``InvalidBreakTable`` listing every issue if the table is not valid."""
    issues = validate_breaks(base_unit_price, breaks)
    if issues:
        raise InvalidBreakTable(sku, issues)


def price_range(qty: int, base_unit_price: int, breaks: Sequence[VolumeBreak]) -> BreakPrice:
    """Price ``qty`` units with every unit at the price of the break reached."""
    unit = base_unit_price
    tier = -1
    for index, brk in enumerate(breaks):
        if brk.min_qty > qty:
            break
        unit = brk.unit_price
        tier = index
    return BreakPrice(amount=unit * qty, unit_price=unit, tier=tier)


def price_slab(qty: int, base_unit_price: int, breaks: Sequence[VolumeBreak]) -> BreakPrice:
    """Price ``qty`` units with each unit at the price of the break it falls into."""
    amount = 0
    tier = -1
    start = 1
    unit = base_unit_price
    for index, brk in enumerate(breaks):
        if brk.min_qty > qty:
            break
        amount += (brk.min_qty - start) * unit
        start = brk.min_qty
        unit = brk.unit_price
        tier = index
    amount += (qty - start + 1) * unit
    average = (2 * amount + qty) // (2 * qty)
    return BreakPrice(amount=amount, unit_price=average, tier=tier)


def price_breaks(
    kind: BreakKind, qty: int, base_unit_price: int, breaks: Sequence[VolumeBreak]
) -> BreakPrice:
    """Price ``qty`` (> 0) units through a break table of the given kind."""
    if kind is BreakKind.SLAB:
        return price_slab(qty, base_unit_price, breaks)
    return price_range(qty, base_unit_price, breaks)
