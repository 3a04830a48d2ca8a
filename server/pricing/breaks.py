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

from server.messages import texts
from server.pricing.errors import BreakIssue, InvalidBreakTable
from server.pricing.money import format_fen


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


def _issue(row: int | None, code: str, text: str = "", **params: object) -> BreakIssue:
    """An issue with its catalogue texts (``breaks.<text or code>``); rows count from 1 there."""
    words = texts(f"breaks.{text or code}", row=None if row is None else row + 1, **params)
    return BreakIssue(row=row, code=code, message=words.zh, message_en=words.en)


def validate_breaks(base_unit_price: int, breaks: Sequence[VolumeBreak]) -> list[BreakIssue]:
    """Every problem of a break table, in row order (empty when valid)."""
    issues: list[BreakIssue] = []
    if base_unit_price < 0:
        issues.append(_issue(None, "price_negative", "base_price_negative"))
    prev: VolumeBreak | None = None
    for row, brk in enumerate(breaks):
        if brk.min_qty < 2:
            issues.append(_issue(row, "break_min_qty_too_small"))
        if brk.unit_price < 0:
            issues.append(_issue(row, "price_negative"))
        if brk.max_qty is not None and brk.max_qty < brk.min_qty:
            issues.append(
                _issue(row, "break_empty_range", max_qty=brk.max_qty, min_qty=brk.min_qty)
            )
        ceiling = base_unit_price if prev is None else prev.unit_price
        if brk.unit_price > ceiling:
            issues.append(
                _issue(
                    row,
                    "break_price_rises",
                    price=format_fen(brk.unit_price),
                    ceiling=format_fen(ceiling),
                )
            )
        if prev is not None:
            issues.extend(_check_adjacent(row, prev, brk))
        prev = brk
    if prev is not None and prev.max_qty is not None:
        issues.append(_issue(len(breaks) - 1, "break_not_open_ended", max_qty=prev.max_qty))
    return issues


def _check_adjacent(row: int, prev: VolumeBreak, brk: VolumeBreak) -> list[BreakIssue]:
    if brk.min_qty < prev.min_qty:
        return [_issue(row, "break_unsorted", min_qty=brk.min_qty, previous=prev.min_qty)]
    if brk.min_qty == prev.min_qty:
        return [_issue(row, "break_overlap", "break_same_start", min_qty=brk.min_qty)]
    if prev.max_qty is not None:
        if prev.max_qty >= brk.min_qty:
            return [_issue(row, "break_overlap", min_qty=brk.min_qty, previous_max=prev.max_qty)]
        if prev.max_qty < brk.min_qty - 1:
            return [_issue(row, "break_gap", min_qty=brk.min_qty, previous_max=prev.max_qty)]
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
