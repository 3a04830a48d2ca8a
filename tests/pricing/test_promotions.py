"""Promotion steps through the pipeline: the concrete steps, ordering, exclusivity, stacking."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from server.pricing import (
    CartLine,
    CartView,
    ExplanationRow,
    GiftLine,
    LineAdjustment,
    LineView,
    OrderAdjustment,
    PercentOffLine,
    PricedCart,
    PricingContext,
    PromotionCurrencyMismatch,
    Step,
    ThresholdDiscount,
    price_cart,
)
from tests.pricing.factories import NOW, make_context, make_dealer, make_list

PRICES = make_list("PL", {"A": 1000, "B": 333, "C": 5000})


def pct(rule_id: str, skus: str, bp: int, **kw: object) -> PercentOffLine:
    return msgspec.convert(
        {"rule_id": rule_id, "rule_version": 1, "skus": list(skus), "percent_off_bp": bp, **kw},
        PercentOffLine,
    )


def threshold(rule_id: str, at: int, off: int, **kw: object) -> ThresholdDiscount:
    return msgspec.convert(
        {
            "rule_id": rule_id,
            "rule_version": 1,
            "currency": "CNY",
            "threshold": at,
            "discount": off,
            **kw,
        },
        ThresholdDiscount,
    )


def run(context: PricingContext, **qty: int) -> PricedCart:
    return price_cart(context, [CartLine(sku=sku, qty=n) for sku, n in qty.items()])


def amounts(cart: PricedCart) -> dict[str, int]:
    return {line.sku: line.amount for line in cart.lines}


def promo_rows(cart: PricedCart, step: Step) -> list[ExplanationRow]:
    return [row for row in cart.explanation if row.step is step]


def test_percent_off_rounds_half_up_and_records_the_rounding() -> None:
    # 15% of 333 = 49.95 -> 50; output 283 against an exact 283.05
    cart = run(make_context([PRICES], line_steps=[pct("P", "B", 1500)]), A=1, B=1)
    assert amounts(cart) == {"A": 1000, "B": 283}
    (row,) = promo_rows(cart, Step.LINE_PROMOTION)
    assert (row.rule_id, row.line, row.input_amount, row.output_amount) == ("P", 1, 333, 283)
    assert str(row.rounding_adjustment) == "-0.0500"
    assert "15%" in row.message


def test_percent_off_respects_segments_and_window() -> None:
    vip_only = pct("P", "A", 1000, segments=["vip"])
    assert amounts(run(make_context([PRICES], line_steps=[vip_only]), A=1)) == {"A": 1000}
    vip = make_dealer(segments=["vip"])
    assert amounts(run(make_context([PRICES], dealer=vip, line_steps=[vip_only]), A=1)) == {
        "A": 900
    }
    later = pct("P", "A", 1000, starts_at=(NOW + timedelta(days=1)).isoformat())
    assert amounts(run(make_context([PRICES], line_steps=[later]), A=1)) == {"A": 1000}


def test_threshold_once_and_every() -> None:
    once = threshold("T", 10_000, 1_000)
    every = threshold("T", 10_000, 1_000, repeat=True)
    capped = threshold("T", 10_000, 1_000, repeat=True, max_times=2)
    assert run(make_context([PRICES], order_steps=[once]), C=7).totals.discount == 1_000
    assert run(make_context([PRICES], order_steps=[every]), C=7).totals.discount == 3_000
    assert run(make_context([PRICES], order_steps=[capped]), C=7).totals.discount == 2_000
    below = run(make_context([PRICES], order_steps=[once]), C=1)
    assert below.totals.discount == 0
    assert promo_rows(below, Step.ORDER_PROMOTION) == []


def test_threshold_is_spread_over_lines_and_explained_per_line() -> None:
    cart = run(make_context([PRICES], order_steps=[threshold("T", 10_000, 1_000)]), A=5, C=1)
    # 5000 + 5000: half each
    assert amounts(cart) == {"A": 4500, "C": 4500}
    rows = promo_rows(cart, Step.ORDER_PROMOTION)
    assert [(r.line, r.input_amount, r.output_amount) for r in rows] == [
        (None, 10_000, 9_000),
        (0, 5_000, 4_500),
        (1, 5_000, 4_500),
    ]


def test_allocation_ties_do_not_depend_on_line_order() -> None:
    # 1001 over two equal lines: 500.5 each; the odd fen goes to the smaller SKU either way.
    prices = make_list("PL", {"A": 1000, "B": 1000})
    context = make_context([prices], order_steps=[threshold("T", 1, 1_001)])
    forward = price_cart(context, [CartLine(sku="A", qty=1), CartLine(sku="B", qty=1)])
    backward = price_cart(context, [CartLine(sku="B", qty=1), CartLine(sku="A", qty=1)])
    assert amounts(forward) == amounts(backward) == {"A": 499, "B": 500}


def test_threshold_on_listed_skus_counts_and_discounts_only_those() -> None:
    step = threshold("T", 5_000, 500, skus=["C"])
    cart = run(make_context([PRICES], order_steps=[step]), A=9, C=1)
    assert amounts(cart) == {"A": 9000, "C": 4500}
    assert run(make_context([PRICES], order_steps=[step]), A=9).totals.discount == 0


def test_threshold_in_another_currency_is_an_error() -> None:
    step = threshold("T", 5_000, 500, currency="USD")
    with pytest.raises(PromotionCurrencyMismatch) as caught:
        run(make_context([PRICES], order_steps=[step]), A=9)
    assert caught.value.code == "currency_mismatch"
    assert caught.value.details()["rule"] == {"id": "T", "version": 1}


def test_steps_run_by_priority_then_rule_id_and_the_first_of_a_group_wins() -> None:
    low = pct("A-low", "A", 1000, priority=1, exclusive_group="g")
    high = pct("Z-high", "A", 2000, priority=5, exclusive_group="g")
    cart = run(make_context([PRICES], line_steps=[low, high]), A=1)
    assert amounts(cart) == {"A": 800}
    rows = promo_rows(cart, Step.LINE_PROMOTION)
    assert [(r.rule_id, r.applied, r.reason) for r in rows] == [
        ("Z-high", True, "applied"),
        ("A-low", False, "skipped_exclusive_group"),
    ]
    tie_b = pct("b", "A", 2000, exclusive_group="g")
    tie_a = pct("a", "A", 1000, exclusive_group="g")
    assert amounts(run(make_context([PRICES], line_steps=[tie_b, tie_a]), A=1)) == {"A": 900}


def test_exclusive_group_is_per_line_for_line_steps() -> None:
    only_a = pct("first", "A", 1000, priority=2, exclusive_group="g")
    a_and_b = pct("second", "AB", 5000, priority=1, exclusive_group="g")
    cart = run(make_context([PRICES], line_steps=[only_a, a_and_b]), A=1, B=100)
    assert amounts(cart) == {"A": 900, "B": 16_650}


def test_stackable_steps_compound_on_the_current_amount() -> None:
    cart = run(make_context([PRICES], line_steps=[pct("x", "A", 1000), pct("y", "A", 2000)]), A=1)
    assert amounts(cart) == {"A": 720}
    assert [ref.id for ref in cart.lines[0].promotions] == ["x", "y"]


def test_non_stackable_line_step_neither_joins_nor_is_joined() -> None:
    first = pct("first", "A", 1000, priority=3)
    solo = pct("solo", "AB", 2000, priority=2, stackable=False)
    last = pct("last", "AB", 5000, priority=1)
    cart = run(make_context([PRICES], line_steps=[first, solo, last]), A=1, B=100)
    # A: first applies, solo is refused (A already promoted), last stacks: 1000 -> 900 -> 450
    # B: solo applies and locks the line, last is refused: 33300 -> 26640
    assert amounts(cart) == {"A": 450, "B": 26_640}
    reasons = {(r.rule_id, r.sku): r.reason for r in promo_rows(cart, Step.LINE_PROMOTION)}
    assert reasons[("solo", "A")] == "skipped_not_stackable"
    assert reasons[("last", "B")] == "skipped_not_stackable"


def test_locked_lines_are_out_of_order_promotions() -> None:
    solo = pct("solo", "A", 1000, stackable=False)
    order = threshold("T", 1_000, 100)
    cart = run(make_context([PRICES], line_steps=[solo], order_steps=[order]), A=2, C=1)
    # A is locked at 1800, so only C counts for the order step and takes the whole 100.
    assert amounts(cart) == {"A": 1_800, "C": 4_900}


def test_order_step_of_a_group_used_by_a_line_step_is_skipped() -> None:
    line = pct("L", "A", 1000, exclusive_group="spring")
    order = threshold("T", 1_000, 100, exclusive_group="spring")
    cart = run(make_context([PRICES], line_steps=[line], order_steps=[order]), A=2, C=1)
    assert cart.totals.discount == 200
    (row,) = promo_rows(cart, Step.ORDER_PROMOTION)
    assert (row.rule_id, row.applied, row.reason, row.line) == (
        "T",
        False,
        "skipped_exclusive_group",
        None,
    )


def test_non_stackable_order_step_sees_only_unpromoted_lines_and_ends_the_phase() -> None:
    line = pct("L", "A", 1000)
    solo = threshold("solo", 1_000, 500, priority=5, stackable=False)
    later = threshold("later", 1_000, 100, priority=1)
    cart = run(make_context([PRICES], line_steps=[line], order_steps=[solo, later]), A=2, C=1)
    assert amounts(cart) == {"A": 1_800, "C": 4_500}
    reasons = [
        (r.rule_id, r.reason) for r in promo_rows(cart, Step.ORDER_PROMOTION) if r.line is None
    ]
    assert reasons == [("solo", "applied"), ("later", "skipped_not_stackable")]


def test_non_stackable_order_step_after_another_order_step_is_skipped() -> None:
    first = threshold("first", 1_000, 100, priority=5)
    solo = threshold("solo", 1_000, 500, priority=1, stackable=False)
    cart = run(make_context([PRICES], order_steps=[first, solo]), C=1)
    assert cart.totals.discount == 100


class BuyTwoGetOne(msgspec.Struct, frozen=True, kw_only=True):
    """A minimal 买赠 step: for every 2 of ``sku``, one ``gift`` free."""

    rule_id: str = "BXGY"
    rule_version: int = 4
    priority: int = 0
    exclusive_group: str | None = None
    stackable: bool = True
    sku: str = "A"
    gift: str = "GIFT-1"

    def apply_order(self, cart: CartView, context: PricingContext) -> OrderAdjustment | None:
        qty = sum(line.qty for line in cart.lines if line.sku == self.sku)
        if qty < 2:
            return None
        return OrderAdjustment(
            message="买二赠一",
            message_en="Buy two get one",
            gifts=(GiftLine(sku=self.gift, qty=qty // 2),),
        )


def test_gift_lines_have_zero_price_and_point_at_the_promotion() -> None:
    cart = run(make_context([PRICES], order_steps=[BuyTwoGetOne()]), A=5, B=1)
    gift = cart.lines[-1]
    assert (gift.line, gift.sku, gift.qty, gift.gift) == (2, "GIFT-1", 2, True)
    assert (gift.unit_price, gift.list_unit_price, gift.amount) == (0, 0, 0)
    assert [(ref.id, ref.version) for ref in gift.promotions] == [("BXGY", 4)]
    assert cart.totals.payable == 5 * 1000 + 333
    assert promo_rows(cart, Step.GIFT)[0].sku == "GIFT-1"
    assert ("BXGY", 4) in {(ref.id, ref.version) for ref in cart.basis.rules}


class FixedOff(msgspec.Struct, frozen=True, kw_only=True):
    rule_id: str = "FIX"
    rule_version: int = 1
    priority: int = 0
    exclusive_group: str | None = None
    stackable: bool = True
    amount: int = 0

    def apply_line(self, line: LineView, context: PricingContext) -> LineAdjustment | None:
        return LineAdjustment(discount=self.amount, message="固定立减", message_en="Fixed off")

    def apply_order(self, cart: CartView, context: PricingContext) -> OrderAdjustment | None:
        return OrderAdjustment(discount=self.amount, message="订单立减", message_en="Order off")


def test_order_discount_above_the_order_amount_is_capped_and_explained() -> None:
    cart = run(make_context([PRICES], order_steps=[FixedOff(amount=999_999)]), A=1, B=1)
    assert cart.totals.payable == 0
    assert cart.totals.discount == 1_333
    assert all(line.amount == 0 for line in cart.lines)
    order_row = next(r for r in promo_rows(cart, Step.ORDER_PROMOTION) if r.line is None)
    assert order_row.reason == "capped"
    assert (order_row.input_amount, order_row.output_amount) == (1_333, 0)


def test_line_discount_above_the_line_is_capped() -> None:
    cart = run(make_context([PRICES], line_steps=[FixedOff(amount=5_000)]), A=1)
    assert amounts(cart) == {"A": 0}
    assert promo_rows(cart, Step.LINE_PROMOTION)[0].reason == "capped"


def test_negative_discount_from_a_step_is_a_bug() -> None:
    with pytest.raises(ValueError, match="negative"):
        run(make_context([PRICES], line_steps=[FixedOff(amount=-1)]), A=1)
