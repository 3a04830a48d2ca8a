from __future__ import annotations

import pytest

from server.pricing import (
    BreakKind,
    InvalidBreakTable,
    PriceItem,
    VolumeBreak,
    check_breaks,
    price_breaks,
    validate_breaks,
)

TABLE = (VolumeBreak(min_qty=10, unit_price=90), VolumeBreak(min_qty=50, unit_price=80))


@pytest.mark.parametrize(
    ("qty", "unit", "amount", "tier"),
    [(1, 100, 100, -1), (9, 100, 900, -1), (10, 90, 900, 0), (49, 90, 4410, 0), (50, 80, 4000, 1)],
)
def test_range_prices_every_unit_at_the_break_reached(
    qty: int, unit: int, amount: int, tier: int
) -> None:
    priced = price_breaks(BreakKind.RANGE, qty, 100, TABLE)
    assert (priced.unit_price, priced.amount, priced.tier) == (unit, amount, tier)


@pytest.mark.parametrize(
    ("qty", "amount"),
    [
        (9, 900),
        (10, 9 * 100 + 90),
        (12, 9 * 100 + 3 * 90),
        (50, 9 * 100 + 40 * 90 + 80),
        (60, 9 * 100 + 40 * 90 + 11 * 80),
    ],
)
def test_slab_prices_each_unit_in_its_own_break(qty: int, amount: int) -> None:
    assert price_breaks(BreakKind.SLAB, qty, 100, TABLE).amount == amount


def test_slab_unit_price_is_the_rounded_average() -> None:
    priced = price_breaks(BreakKind.SLAB, 12, 100, TABLE)  # 1170 / 12 = 97.5
    assert priced.unit_price == 98
    assert priced.tier == 0


def test_valid_table_has_no_issues() -> None:
    assert validate_breaks(100, TABLE) == []
    ranged = (
        VolumeBreak(min_qty=10, max_qty=49, unit_price=90),
        VolumeBreak(min_qty=50, unit_price=80),
    )
    assert validate_breaks(100, ranged) == []


def codes(base: int, table: tuple[VolumeBreak, ...]) -> list[tuple[int | None, str]]:
    return [(issue.row, issue.code) for issue in validate_breaks(base, table)]


def test_rising_price_is_an_issue_naming_the_row() -> None:
    table = (VolumeBreak(min_qty=10, unit_price=90), VolumeBreak(min_qty=20, unit_price=95))
    assert codes(100, table) == [(1, "break_price_rises")]
    assert codes(80, (VolumeBreak(min_qty=10, unit_price=90),)) == [(0, "break_price_rises")]


def test_unsorted_and_duplicate_min_quantities_are_issues() -> None:
    unsorted = (VolumeBreak(min_qty=20, unit_price=90), VolumeBreak(min_qty=10, unit_price=80))
    assert codes(100, unsorted) == [(1, "break_unsorted")]
    duplicate = (VolumeBreak(min_qty=10, unit_price=90), VolumeBreak(min_qty=10, unit_price=80))
    assert codes(100, duplicate) == [(1, "break_overlap")]


def test_overlapping_gapped_and_closed_ranges_are_issues() -> None:
    overlap = (
        VolumeBreak(min_qty=10, max_qty=30, unit_price=90),
        VolumeBreak(min_qty=20, unit_price=80),
    )
    assert codes(100, overlap) == [(1, "break_overlap")]
    gap = (
        VolumeBreak(min_qty=10, max_qty=15, unit_price=90),
        VolumeBreak(min_qty=20, unit_price=80),
    )
    assert codes(100, gap) == [(1, "break_gap")]
    closed = (VolumeBreak(min_qty=10, max_qty=15, unit_price=90),)
    assert codes(100, closed) == [(0, "break_not_open_ended")]
    empty = (VolumeBreak(min_qty=10, max_qty=5, unit_price=90),)
    assert (0, "break_empty_range") in codes(100, empty)


def test_every_issue_is_reported_not_just_the_first() -> None:
    table = (
        VolumeBreak(min_qty=1, unit_price=-5),
        VolumeBreak(min_qty=1, unit_price=120),
    )
    found = codes(100, table)
    assert (0, "break_min_qty_too_small") in found
    assert (0, "price_negative") in found
    assert (1, "break_overlap") in found
    assert (1, "break_price_rises") in found


def test_check_breaks_raises_with_issues_and_a_clear_message() -> None:
    table = (VolumeBreak(min_qty=10, unit_price=90), VolumeBreak(min_qty=20, unit_price=95))
    with pytest.raises(InvalidBreakTable) as caught:
        check_breaks("SKU-1", 100, table)
    assert caught.value.code == "invalid_break_table"
    assert caught.value.issues[0].code == "break_price_rises"
    assert "第 2 档" in caught.value.message
    assert caught.value.details()["sku"] == "SKU-1"


def test_price_item_refuses_an_invalid_table() -> None:
    with pytest.raises(InvalidBreakTable):
        PriceItem(
            sku="X",
            unit_price=100,
            breaks=(VolumeBreak(min_qty=10, unit_price=120),),
        )
    with pytest.raises(ValueError, match="pack_size"):
        PriceItem(sku="X", unit_price=100, pack_size=0)
