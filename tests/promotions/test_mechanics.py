"""The promotion mechanics as pure pipeline steps, with concrete numbers."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from server.pricing import (
    BuyXGetY,
    CartLine,
    Eligibility,
    FixedAmountOffLine,
    PercentOffLine,
    PricedCart,
    PricingContext,
    SpecialPriceLine,
    Step,
    ThresholdDiscount,
    ThresholdTier,
    TieredThreshold,
    in_pilot,
    price_cart,
)
from tests.pricing.factories import NOW, make_context, make_dealer, make_list

PRICES = make_list("PL", {"A": 1000, "B": 2500, "G": 800})


def run(context: PricingContext, **qty: int) -> PricedCart:
    return price_cart(context, [CartLine(sku=sku, qty=n) for sku, n in qty.items()])


def amounts(cart: PricedCart) -> dict[str, int]:
    return {f"{line.sku}{'*' if line.gift else ''}": line.amount for line in cart.lines}


def test_fixed_amount_off_per_unit_and_capped_at_the_line() -> None:
    step = FixedAmountOffLine(rule_id="F", rule_version=1, skus=frozenset({"A"}), amount_off=150)
    cart = run(make_context([PRICES], line_steps=[step]), A=4, B=1)
    assert amounts(cart) == {"A": 3400, "B": 2500}  # 4 x 10.00 - 4 x 1.50
    huge = FixedAmountOffLine(rule_id="F", rule_version=1, skus=frozenset({"A"}), amount_off=5000)
    cart = run(make_context([PRICES], line_steps=[huge]), A=2)
    assert amounts(cart) == {"A": 0}  # never below zero
    assert [r.reason for r in cart.explanation if r.step is Step.LINE_PROMOTION] == ["capped"]


def test_special_price_only_lowers_a_line() -> None:
    step = SpecialPriceLine(rule_id="S", rule_version=1, skus=frozenset({"A", "B"}), unit_price=900)
    cart = run(make_context([PRICES], line_steps=[step]), A=3, B=2)
    assert amounts(cart) == {"A": 2700, "B": 1800}
    dear = SpecialPriceLine(rule_id="S", rule_version=1, skus=frozenset({"A"}), unit_price=1200)
    assert amounts(run(make_context([PRICES], line_steps=[dear]), A=1)) == {"A": 1000}


def test_threshold_once_and_every_n_with_a_cap() -> None:
    once = ThresholdDiscount(
        rule_id="T", rule_version=1, currency="CNY", threshold=10000, discount=1000
    )
    every = ThresholdDiscount(
        rule_id="E",
        rule_version=1,
        currency="CNY",
        threshold=10000,
        discount=1000,
        repeat=True,
        max_times=2,
    )
    # 35 x 10.00 = 350.00
    assert run(make_context([PRICES], order_steps=[once]), A=35).totals.payable == 34000
    assert run(make_context([PRICES], order_steps=[every]), A=35).totals.payable == 33000
    assert run(make_context([PRICES], order_steps=[every]), A=9).totals.payable == 9000


def test_tiered_threshold_gives_the_highest_rung_reached() -> None:
    step = TieredThreshold(
        rule_id="TT",
        rule_version=1,
        currency="CNY",
        tiers=(
            ThresholdTier(threshold=10000, discount=500),
            ThresholdTier(threshold=30000, discount=2000),
            ThresholdTier(threshold=50000, discount=4000),
        ),
    )
    assert run(make_context([PRICES], order_steps=[step]), A=9).totals.payable == 9000
    assert run(make_context([PRICES], order_steps=[step]), A=12).totals.payable == 11500
    assert run(make_context([PRICES], order_steps=[step]), A=40).totals.payable == 38000
    assert run(make_context([PRICES], order_steps=[step]), A=60).totals.payable == 56000
    # the discount is spread over the lines so they sum exactly
    cart = run(make_context([PRICES], order_steps=[step]), A=7, B=3)  # 70 + 75 = 145.00
    assert sum(line.amount for line in cart.lines) == cart.totals.payable == 14500 - 500


def test_buy_x_get_y_same_sku_multiples_and_cap() -> None:
    step = BuyXGetY(
        rule_id="BG",
        rule_version=1,
        skus=frozenset({"A"}),
        buy_qty=10,
        gift_sku="A",
        gift_qty=1,
        max_gifts=3,
    )
    cart = run(make_context([PRICES], order_steps=[step]), A=25)
    assert [(ln.sku, ln.qty, ln.gift, ln.amount) for ln in cart.lines] == [
        ("A", 25, False, 25000),
        ("A", 2, True, 0),
    ]
    cart = run(make_context([PRICES], order_steps=[step]), A=80)
    assert cart.lines[-1].qty == 3  # capped
    assert "赠送上限" in next(r.message for r in cart.explanation if r.step is Step.ORDER_PROMOTION)
    assert len(run(make_context([PRICES], order_steps=[step]), A=9).lines) == 1


def test_buy_x_get_y_other_sku_once() -> None:
    step = BuyXGetY(
        rule_id="BG",
        rule_version=1,
        skus=frozenset({"A", "B"}),
        buy_qty=5,
        gift_sku="G",
        gift_qty=2,
        repeat=False,
    )
    cart = run(make_context([PRICES], order_steps=[step]), A=3, B=9)
    assert amounts(cart) == {"A": 3000, "B": 22500, "G*": 0}
    assert cart.lines[-1].qty == 2
    assert cart.totals.payable == 25500


def test_order_of_application_line_steps_by_priority_then_order_steps() -> None:
    special = SpecialPriceLine(
        rule_id="S", rule_version=1, skus=frozenset({"A"}), unit_price=900, priority=20
    )
    pct = PercentOffLine(
        rule_id="P", rule_version=1, skus=frozenset({"A"}), percent_off_bp=1000, priority=10
    )
    full = ThresholdDiscount(
        rule_id="T", rule_version=1, currency="CNY", threshold=8000, discount=1000
    )
    cart = run(make_context([PRICES], line_steps=[pct, special], order_steps=[full]), A=10)
    # special price first (100.00 -> 90.00), then 10% (-> 81.00), then 满 80 减 10 (-> 71.00)
    assert [
        r.rule_id
        for r in cart.explanation
        if (r.step in (Step.LINE_PROMOTION, Step.ORDER_PROMOTION) and r.line is None)
        or r.step is Step.LINE_PROMOTION
    ] == ["S", "P", "T"]
    assert cart.totals.payable == 7100
    # the same two line steps with the priorities swapped: 10% first, then the special price
    pct_first = PercentOffLine(
        rule_id="P", rule_version=1, skus=frozenset({"A"}), percent_off_bp=1000, priority=30
    )
    cart = run(make_context([PRICES], line_steps=[pct_first, special]), A=10)
    assert cart.totals.payable == 9000  # 90.00 after 10%, special price 9.00 gives nothing more


def test_exclusive_group_and_not_stackable() -> None:
    a = FixedAmountOffLine(
        rule_id="A1",
        rule_version=1,
        skus=frozenset({"A"}),
        amount_off=100,
        priority=2,
        exclusive_group="g",
    )
    b = FixedAmountOffLine(
        rule_id="A2",
        rule_version=1,
        skus=frozenset({"A"}),
        amount_off=300,
        priority=1,
        exclusive_group="g",
    )
    cart = run(make_context([PRICES], line_steps=[a, b]), A=1)
    assert amounts(cart) == {"A": 900}
    lone = ThresholdDiscount(
        rule_id="T", rule_version=1, currency="CNY", threshold=100, discount=100, stackable=False
    )
    cart = run(make_context([PRICES], line_steps=[a], order_steps=[lone]), A=1, B=1)
    assert amounts(cart) == {"A": 900, "B": 2400}  # the 满减 only sees the line without a promotion


SHANGHAI_NOV_1 = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 2026-11-01 00:00 in Asia/Shanghai


def test_eligibility_by_tier_region_dealer_segment_and_window() -> None:
    step = lambda **kw: FixedAmountOffLine(  # noqa: E731
        rule_id="F",
        rule_version=1,
        skus=frozenset({"A"}),
        amount_off=100,
        eligibility=Eligibility(**kw),
    )
    core = make_dealer("D1", tier="core", regions=("330000", "330100"), segments=("kа",))
    growth = make_dealer("D2", tier="growth", regions=("440000",))

    def price(dealer: object, now: datetime = NOW, **kw: object) -> int:
        ctx = make_context([PRICES], dealer=dealer, line_steps=[step(**kw)], now=now)  # type: ignore[arg-type]
        return run(ctx, A=1).totals.payable

    assert price(core, tiers=frozenset({"core"})) == 900
    assert price(growth, tiers=frozenset({"core"})) == 1000
    assert price(core, regions=frozenset({"330000"})) == 900  # province covers its cities
    assert price(growth, regions=frozenset({"330000"})) == 1000
    assert price(growth, dealers=frozenset({"D2"})) == 900
    assert price(core, dealers=frozenset({"D2"})) == 1000
    assert price(growth, segments=frozenset({"vip"})) == 1000
    # window [2026-11-01 00:00, 2026-11-02 00:00) Shanghai time
    window = {"starts_at": SHANGHAI_NOV_1, "ends_at": datetime(2026, 11, 1, 16, 0, tzinfo=UTC)}
    assert price(core, now=datetime(2026, 10, 31, 15, 59, tzinfo=UTC), **window) == 1000
    assert price(core, now=SHANGHAI_NOV_1, **window) == 900
    assert price(core, now=datetime(2026, 11, 1, 16, 0, tzinfo=UTC), **window) == 1000


def test_pilot_split_is_deterministic_and_near_the_share() -> None:
    test = [d for d in range(2000) if in_pilot("promo-1", f"dealer-{d}", 3000)]
    assert test == [d for d in range(2000) if in_pilot("promo-1", f"dealer-{d}", 3000)]
    assert 500 < len(test) < 700
    other = [d for d in range(2000) if in_pilot("promo-2", f"dealer-{d}", 3000)]
    assert other != test


SKUS = ("A", "B", "G")


@settings(max_examples=150, deadline=None)
@given(
    qty=st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=3),
    amount_off=st.integers(min_value=0, max_value=3000),
    special=st.integers(min_value=0, max_value=3000),
    rungs=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=200_000), st.integers(min_value=0, max_value=300_000)
        ),
        min_size=1,
        max_size=4,
    ),
    buy=st.integers(min_value=1, max_value=12),
    priorities=st.lists(st.integers(min_value=-3, max_value=3), min_size=4, max_size=4),
    stackable=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_any_mix_of_mechanics_keeps_lines_whole_and_sums_exact(
    qty: list[int],
    amount_off: int,
    special: int,
    rungs: list[tuple[int, int]],
    buy: int,
    priorities: list[int],
    stackable: list[bool],
) -> None:
    line_steps = [
        FixedAmountOffLine(
            rule_id="F",
            rule_version=1,
            skus=frozenset({"A", "B"}),
            amount_off=amount_off,
            priority=priorities[0],
            stackable=stackable[0],
        ),
        SpecialPriceLine(
            rule_id="S",
            rule_version=1,
            skus=frozenset({"A"}),
            unit_price=special,
            priority=priorities[1],
            stackable=stackable[1],
        ),
    ]
    order_steps = [
        TieredThreshold(
            rule_id="T",
            rule_version=1,
            currency="CNY",
            tiers=tuple(ThresholdTier(threshold=t, discount=d) for t, d in rungs),
            priority=priorities[2],
            stackable=stackable[2],
        ),
        BuyXGetY(
            rule_id="G",
            rule_version=1,
            skus=frozenset({"A"}),
            buy_qty=buy,
            gift_sku="G",
            gift_qty=1,
            priority=priorities[3],
            stackable=stackable[3],
        ),
    ]
    lines = [CartLine(sku=SKUS[i], qty=n) for i, n in enumerate(qty)]
    cart = price_cart(make_context([PRICES], line_steps=line_steps, order_steps=order_steps), lines)
    assert all(0 <= line.amount <= line.amount_before_discounts for line in cart.lines)
    assert sum(line.amount for line in cart.lines) == cart.totals.payable
    assert all(line.amount == 0 for line in cart.lines if line.gift)
    assert cart.totals.payable <= sum(n * p for n, p in zip(qty, (1000, 2500, 800), strict=False))
