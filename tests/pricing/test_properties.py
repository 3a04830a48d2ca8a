"""Property tests (hypothesis) for the pricing pipeline, breaks and allocation."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from server.pricing import (
    BreakKind,
    CartLine,
    LineStep,
    OrderStep,
    PercentOffLine,
    PricedCart,
    PriceItem,
    PricingContext,
    SettlementOptions,
    ThresholdDiscount,
    VolumeBreak,
    allocate,
    price_breaks,
    price_cart,
    validate_breaks,
)
from tests.pricing.factories import make_context, make_list

GROUPS = st.sampled_from([None, "g1", "g2"])


@st.composite
def break_tables(draw: st.DrawFn) -> tuple[int, tuple[VolumeBreak, ...]]:
    """A base price and a valid break table (sorted, non-increasing prices)."""
    # Common prices make equal line amounts (ties in allocation) likely.
    base = draw(st.sampled_from([100, 333, 1_000, 2_500]) | st.integers(0, 100_000))
    mins = sorted(draw(st.sets(st.integers(2, 500), max_size=5)))
    price = base
    table: list[VolumeBreak] = []
    for min_qty in mins:
        price = draw(st.integers(0, price))
        table.append(VolumeBreak(min_qty=min_qty, unit_price=price))
    return base, tuple(table)


@st.composite
def items(draw: st.DrawFn, sku: str) -> PriceItem:
    base, table = draw(break_tables())
    kind = draw(st.sampled_from(list(BreakKind)))
    return PriceItem(sku=sku, unit_price=base, breaks=table, break_kind=kind)


SKUS = [f"SKU-{n:02d}" for n in range(8)]


@st.composite
def line_steps(draw: st.DrawFn, rule_id: str) -> LineStep:
    return PercentOffLine(
        rule_id=rule_id,
        rule_version=draw(st.integers(1, 3)),
        skus=frozenset(draw(st.lists(st.sampled_from(SKUS), max_size=8))),
        percent_off_bp=draw(st.integers(0, 10_000)),
        priority=draw(st.integers(0, 3)),
        exclusive_group=draw(GROUPS),
        stackable=draw(st.booleans()),
    )


@st.composite
def order_steps(draw: st.DrawFn, rule_id: str) -> OrderStep:
    skus = draw(st.none() | st.lists(st.sampled_from(SKUS), min_size=1).map(frozenset))
    return ThresholdDiscount(
        rule_id=rule_id,
        rule_version=draw(st.integers(1, 3)),
        currency="CNY",
        threshold=draw(st.integers(1, 2_000) | st.integers(1, 200_000)),
        discount=draw(st.integers(0, 999) | st.integers(0, 500_000)),
        repeat=draw(st.booleans()),
        skus=skus,
        priority=draw(st.integers(0, 3)),
        exclusive_group=draw(GROUPS),
        stackable=draw(st.booleans()),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[PricingContext, list[CartLine]]:
    if draw(st.booleans()):
        catalog = [draw(items(sku)) for sku in SKUS]
    else:
        # One price for every SKU: equal line amounts, so allocation ties are common.
        price = draw(st.sampled_from([100, 333, 1_000]))
        catalog = [PriceItem(sku=sku, unit_price=price) for sku in SKUS]
    n_line = draw(st.integers(0, 4))
    n_order = draw(st.integers(0, 3))
    settlement = draw(
        st.none()
        | st.builds(
            SettlementOptions,
            rebate_balance=st.integers(0, 1_000_000),
            rebate_cap_bp=st.integers(0, 10_000),
            prepaid_balance=st.integers(0, 1_000_000),
        )
    )
    context = make_context(
        [make_list("PL", catalog)],
        line_steps=[draw(line_steps(f"L{i}")) for i in range(n_line)],
        order_steps=[draw(order_steps(f"O{i}")) for i in range(n_order)],
        settlement=settlement,
    )
    chosen = draw(st.lists(st.sampled_from(SKUS), unique=True, max_size=8))
    quantities = st.sampled_from([1, 2, 3, 10]) | st.integers(1, 600)
    if draw(st.booleans()):
        quantities = st.just(draw(quantities))
    cart = [CartLine(sku=sku, qty=draw(quantities)) for sku in chosen]
    return context, cart


@given(scenarios())
def test_totals_equal_the_sum_of_lines(scenario: tuple[PricingContext, list[CartLine]]) -> None:
    priced = price_cart(*scenario)
    totals = priced.totals
    assert totals.list_amount == sum(line.list_amount for line in priced.lines)
    assert totals.goods_amount == sum(line.amount_before_discounts for line in priced.lines)
    assert totals.discount == sum(line.discount for line in priced.lines)
    assert totals.payable == sum(line.amount for line in priced.lines)
    assert totals.payable == totals.goods_amount - totals.discount
    split = priced.settlement
    assert split.rebate + split.prepaid + split.remaining == totals.payable
    assert 0 <= split.rebate <= split.rebate_cap <= split.rebate_basis <= totals.payable
    for line in priced.lines:
        assert line.amount == line.amount_before_discounts - line.discount


@given(scenarios())
def test_no_amount_is_ever_negative(scenario: tuple[PricingContext, list[CartLine]]) -> None:
    priced = price_cart(*scenario)
    for line in priced.lines:
        assert min(line.unit_price, line.amount_before_discounts, line.discount, line.amount) >= 0
    for row in priced.explanation:
        assert row.input_amount >= 0
        assert row.output_amount >= 0
        if row.line is not None:
            assert row.output_amount <= row.input_amount
    split = priced.settlement
    assert min(split.rebate, split.prepaid, split.remaining) >= 0


def comparable(priced: PricedCart) -> object:
    sku_of = {line.line: line.sku for line in priced.lines}
    lines = {
        line.sku: (line.qty, line.amount, line.discount, line.promotions) for line in priced.lines
    }
    rows = Counter(
        (
            row.step,
            row.rule_id,
            None if row.line is None else sku_of[row.line],
            row.input_amount,
            row.output_amount,
            row.rounding_adjustment,
            row.reason,
        )
        for row in priced.explanation
    )
    return (lines, priced.totals, priced.settlement, priced.basis, rows)


@given(scenarios(), st.randoms(use_true_random=False))
def test_line_order_does_not_change_the_result(
    scenario: tuple[PricingContext, list[CartLine]], rnd: random.Random
) -> None:
    context, cart = scenario
    shuffled = list(cart)
    rnd.shuffle(shuffled)
    assert comparable(price_cart(context, cart)) == comparable(price_cart(context, shuffled))


@given(break_tables(), st.integers(1, 1_000), st.integers(1, 1_000))
def test_range_break_never_raises_the_unit_price(
    table: tuple[int, tuple[VolumeBreak, ...]], q1: int, q2: int
) -> None:
    base, breaks = table
    assert validate_breaks(base, breaks) == []
    small, large = sorted((q1, q2))
    low = price_breaks(BreakKind.RANGE, small, base, breaks)
    high = price_breaks(BreakKind.RANGE, large, base, breaks)
    assert high.unit_price <= low.unit_price
    assert high.unit_price <= base


@given(break_tables(), st.integers(1, 1_000))
def test_slab_amount_never_exceeds_base_nor_undercuts_last_break(
    table: tuple[int, tuple[VolumeBreak, ...]], qty: int
) -> None:
    base, breaks = table
    amount = price_breaks(BreakKind.SLAB, qty, base, breaks).amount
    assert amount <= qty * base
    assert amount >= price_breaks(BreakKind.RANGE, qty, base, breaks).amount


@given(
    st.integers(0, 10**9),
    st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 10**7)), max_size=20),
)
def test_allocation_parts_always_sum_to_the_allocated_amount(
    amount: int, pairs: list[tuple[int, int]]
) -> None:
    weights = [w for w, _ in pairs]
    caps = [c for _, c in pairs]
    result = allocate(amount, weights, caps=caps, keys=[str(i) for i in range(len(pairs))])
    assert sum(result.parts) + result.unallocated == amount
    assert result.unallocated == max(0, amount - sum(caps))
    assert all(0 <= part <= cap for part, cap in zip(result.parts, caps, strict=True))


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**7), min_size=1, max_size=20))
def test_uncapped_allocation_is_within_one_fen_of_the_exact_share(
    amount: int, weights: list[int]
) -> None:
    total = sum(weights)
    result = allocate(amount, weights)
    for part, weight in zip(result.parts, weights, strict=True):
        if total and amount <= total:
            assert abs(part * total - amount * weight) < total
