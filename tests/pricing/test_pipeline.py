"""The pipeline end to end: validation, list price and breaks, settlement, basis."""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest

from server.pricing import (
    BreakKind,
    CartInvalid,
    CartLine,
    PricedCart,
    PricingError,
    RuleRef,
    Scope,
    SettlementOptions,
    Step,
    ThresholdDiscount,
    price_cart,
)
from tests.pricing.factories import make_context, make_item, make_list

CATALOG = make_list(
    "PL-D",
    [
        make_item("A", 1000, breaks=[(10, 900), (50, 800)]),
        make_item("S", 100, breaks=[(10, 90), (50, 80)], kind=BreakKind.SLAB),
        make_item("CASE", 500, pack_size=6, whole_cases=True),
        make_item("MOQ", 200, min_qty=10),
        make_item("P", 1234),
    ],
    version=7,
)


def cart(*lines: tuple[str, int]) -> list[CartLine]:
    return [CartLine(sku=sku, qty=qty) for sku, qty in lines]


def test_list_price_and_range_break() -> None:
    priced = price_cart(make_context([CATALOG]), cart(("A", 12), ("P", 2)))
    a, p = priced.lines
    assert (a.list_unit_price, a.unit_price, a.list_amount, a.amount_before_discounts) == (
        1000,
        900,
        12_000,
        10_800,
    )
    assert (p.unit_price, p.amount) == (1234, 2468)
    assert a.price_list == RuleRef(id="PL-D", version=7)
    steps = [(row.step, row.line) for row in priced.explanation]
    assert steps == [(Step.LIST_PRICE, 0), (Step.VOLUME_BREAK, 0), (Step.LIST_PRICE, 1)]
    break_row = priced.explanation[1]
    assert (break_row.input_amount, break_row.output_amount, break_row.rule_id) == (
        12_000,
        10_800,
        "PL-D",
    )


def test_slab_break_through_the_pipeline() -> None:
    priced = price_cart(make_context([CATALOG]), cart(("S", 12)))
    assert priced.lines[0].amount == 9 * 100 + 3 * 90
    assert priced.totals.list_amount == 1200


def test_break_not_reached_is_recorded_as_not_applied() -> None:
    priced = price_cart(make_context([CATALOG]), cart(("A", 3)))
    row = priced.explanation[1]
    assert (row.step, row.applied, row.reason) == (Step.VOLUME_BREAK, False, "not_reached")


def test_all_line_errors_are_collected_with_codes_lines_and_skus() -> None:
    other = make_list("USD", {"X": 1}, currency="USD")
    tied_a = make_list("T1", {"Y": 1}, scope=Scope.TIER, key="core")
    tied_b = make_list("T2", {"Y": 2}, scope=Scope.TIER, key="core")
    context = make_context([CATALOG, other, tied_a, tied_b])
    with pytest.raises(CartInvalid) as caught:
        price_cart(
            context,
            cart(
                ("A", 0),
                ("CASE", 7),
                ("MOQ", 5),
                ("NOPE", 1),
                ("X", 1),
                ("Y", 1),
                ("A", 2),
                ("P", 1),
            ),
        )
    errors = caught.value.errors
    assert [(e.code, e.line, e.sku) for e in errors] == [
        ("quantity_not_positive", 0, "A"),
        ("quantity_not_pack_multiple", 1, "CASE"),
        ("quantity_below_minimum", 2, "MOQ"),
        ("sku_not_priced", 3, "NOPE"),
        ("currency_mismatch", 4, "X"),
        ("price_conflict", 5, "Y"),
        ("duplicate_sku", 6, "A"),
    ]
    details = caught.value.details()
    assert details["code"] == "cart_invalid"
    body = msgspec.json.decode(msgspec.json.encode(details))
    assert body["errors"][1]["pack_size"] == 6
    assert body["errors"][5]["lists"] == [{"id": "T1", "version": 1}, {"id": "T2", "version": 1}]
    assert isinstance(caught.value, PricingError)


def test_whole_cases_and_minimum_accept_valid_quantities() -> None:
    priced = price_cart(make_context([CATALOG]), cart(("CASE", 12), ("MOQ", 10)))
    assert priced.totals.goods_amount == 12 * 500 + 10 * 200


def split_of(priced: PricedCart) -> tuple[int, int, int]:
    s = priced.settlement
    return (s.rebate, s.prepaid, s.remaining)


def test_totals_and_settlement_split() -> None:
    options = SettlementOptions(
        rebate_balance=1_000_000,
        rebate_cap_bp=1_000,
        prepaid_balance=5_000,
        rule=RuleRef(id="REBATE-2026", version=2),
    )
    step = ThresholdDiscount(
        rule_id="T", rule_version=1, currency="CNY", threshold=10_000, discount=999
    )
    priced = price_cart(
        make_context([CATALOG], order_steps=[step], settlement=options), cart(("P", 10))
    )
    totals = priced.totals
    assert (totals.goods_amount, totals.discount, totals.payable) == (12_340, 999, 11_341)
    # rebate: 10% of 11341 = 1134.1, rounded down so the cap is never passed
    split = priced.settlement
    assert (split.rebate, split.prepaid, split.remaining) == (1_134, 5_000, 5_207)
    rows = [row for row in priced.explanation if row.step is Step.SETTLEMENT]
    assert [(r.input_amount, r.output_amount) for r in rows] == [(11_341, 10_207), (10_207, 5_207)]
    assert RuleRef(id="REBATE-2026", version=2) in priced.basis.rules


def test_settlement_is_limited_by_balances_and_switches() -> None:
    priced = price_cart(
        make_context(
            [CATALOG],
            settlement=SettlementOptions(
                rebate_balance=100, rebate_cap_bp=5_000, prepaid_balance=99_999, use_prepaid=False
            ),
        ),
        cart(("P", 1)),
    )
    assert split_of(priced) == (100, 0, 1_134)
    assert priced.totals.payable == 1_234


def test_without_settlement_everything_remains() -> None:
    priced = price_cart(make_context([CATALOG]), cart(("P", 1)))
    assert split_of(priced) == (0, 0, 1_234)


def test_basis_lists_what_was_used_and_its_fingerprint_tracks_versions() -> None:
    unused = make_list("UNUSED", {"Z": 1}, scope=Scope.DEALER, key="D1")
    dealer_list = make_list("DL", {"P": 1000}, scope=Scope.DEALER, key="D1", version=3)
    first = price_cart(make_context([CATALOG, dealer_list, unused]), cart(("P", 1), ("A", 1)))
    assert first.basis.price_lists == (
        RuleRef(id="DL", version=3),
        RuleRef(id="PL-D", version=7),
    )
    assert first.basis.rules == ()
    bumped = msgspec.structs.replace(dealer_list, version=4)
    second = price_cart(make_context([CATALOG, bumped, unused]), cart(("A", 1), ("P", 1)))
    assert second.basis.fingerprint != first.basis.fingerprint
    again = price_cart(make_context([CATALOG, dealer_list]), cart(("A", 1), ("P", 1)))
    assert again.basis.fingerprint == first.basis.fingerprint
    assert len(first.basis.fingerprint) == 64


def test_result_encodes_to_json() -> None:
    priced = price_cart(make_context([CATALOG]), cart(("A", 12)))
    body = msgspec.json.decode(msgspec.json.encode(priced))
    assert body["currency"] == "CNY"
    assert body["explanation"][0]["rounding_adjustment"] == "0"
    assert body["lines"][0]["amount"] == 10_800


def test_naive_now_is_refused() -> None:
    context = make_context([CATALOG], now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        price_cart(context, cart(("P", 1)))


def test_empty_cart_prices_to_zero() -> None:
    priced = price_cart(make_context([CATALOG]), [])
    assert priced.lines == ()
    assert priced.totals.payable == 0


def test_rebate_cap_counts_only_eligible_lines_and_the_dealers_choice() -> None:
    base = SettlementOptions(rebate_balance=100_000, rebate_cap_bp=1_000)

    def settled(options: SettlementOptions) -> PricedCart:
        return price_cart(make_context([CATALOG], settlement=options), cart(("P", 10), ("A", 1)))

    everything = settled(base).settlement
    assert (everything.rebate_basis, everything.rebate_cap, everything.rebate) == (
        12_340 + 1_000,
        1_334,
        1_334,
    )
    without_a = settled(
        msgspec.structs.replace(base, rebate_excluded_skus=frozenset({"A"}))
    ).settlement
    assert (without_a.rebate_basis, without_a.rebate_cap) == (12_340, 1_234)
    chosen = settled(msgspec.structs.replace(base, rebate_requested=500)).settlement
    assert (chosen.rebate, chosen.rebate_cap, chosen.prepaid) == (500, 1_334, 0)
    declined = settled(msgspec.structs.replace(base, use_rebate=False))
    assert (declined.settlement.rebate, declined.settlement.rebate_cap) == (0, 0)
    assert [r.reason for r in declined.explanation if r.step is Step.SETTLEMENT] == ["not_chosen"]
