"""Fixed bundles as an order step, and configurable products' constraints."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.pricing import (
    BundleComponent,
    CartLine,
    ConfigOption,
    ConfigurableProduct,
    ConfigurationInvalid,
    Constraint,
    FixedBundle,
    OptionGroup,
    Step,
    price_cart,
)
from tests.pricing.factories import make_context, make_list

PRICES = make_list("PL", {"WATER": 1000, "TEA": 600, "CHIPS": 450})
GIFT_BOX = FixedBundle(
    rule_id="BDL-1",
    rule_version=2,
    currency="CNY",
    bundle_price=1400,
    name="夏日组合",
    components=(BundleComponent(sku="WATER", qty=1), BundleComponent(sku="TEA", qty=1)),
)


def test_each_complete_set_is_priced_at_the_bundle_price() -> None:
    cart = [CartLine(sku="WATER", qty=3), CartLine(sku="TEA", qty=2), CartLine(sku="CHIPS", qty=1)]
    priced = price_cart(make_context([PRICES], order_steps=[GIFT_BOX]), cart)
    # two sets: 2 x (1000 + 600 - 1400) = 400 off, spread over the WATER and TEA lines only
    assert priced.totals.discount == 400
    assert sum(line.discount for line in priced.lines if line.sku in ("WATER", "TEA")) == 400
    assert [line.discount for line in priced.lines if line.sku == "CHIPS"] == [0]
    rows = [r for r in priced.explanation if r.step is Step.ORDER_PROMOTION and r.line is None]
    assert rows and rows[0].rule_id == "BDL-1" and rows[0].rule_version == 2


def test_incomplete_set_or_dearer_bundle_gives_nothing() -> None:
    incomplete = price_cart(
        make_context([PRICES], order_steps=[GIFT_BOX]), [CartLine(sku="WATER", qty=5)]
    )
    assert incomplete.totals.discount == 0
    dear = FixedBundle(
        rule_id="B2",
        rule_version=1,
        currency="CNY",
        bundle_price=5000,
        components=(BundleComponent(sku="WATER", qty=1),),
    )
    assert (
        price_cart(
            make_context([PRICES], order_steps=[dear]), [CartLine(sku="WATER", qty=1)]
        ).totals.discount
        == 0
    )


def test_bundle_definition_is_checked() -> None:
    with pytest.raises(ValueError, match="twice"):
        FixedBundle(
            rule_id="B",
            rule_version=1,
            currency="CNY",
            bundle_price=1,
            components=(BundleComponent(sku="A", qty=1), BundleComponent(sku="A", qty=2)),
        )


BOX = ConfigurableProduct(
    code="GIFTBOX",
    name="年货礼盒",
    base=(BundleComponent(sku="BOX", qty=1),),
    groups=(
        OptionGroup(
            code="drinks",
            name="饮料",
            min=1,
            max=2,
            options=(
                ConfigOption(code="water", sku="WATER", qty=6),
                ConfigOption(code="tea", sku="TEA", qty=6),
                ConfigOption(code="cola", sku="COLA", qty=6),
            ),
        ),
        OptionGroup(
            code="snacks",
            name="零食",
            min=0,
            max=1,
            options=(
                ConfigOption(code="chips", sku="CHIPS", qty=2),
                ConfigOption(code="nuts", sku="NUTS", qty=1),
            ),
        ),
    ),
    constraints=(
        Constraint(kind="requires", option="nuts", other="tea"),
        Constraint(kind="excludes", option="cola", other="tea"),
    ),
)


def test_a_valid_configuration_becomes_cart_lines() -> None:
    assert BOX.check_definition() == []
    assert BOX.configure(["tea", "nuts"], units=2) == (
        CartLine(sku="BOX", qty=2),
        CartLine(sku="NUTS", qty=2),
        CartLine(sku="TEA", qty=12),
    )


@pytest.mark.parametrize(
    ("selected", "constraints"),
    [
        ([], ["group:drinks:min=1"]),
        (["water", "tea", "chips", "nuts"], ["group:snacks:max=1"]),
        (["water", "nuts"], ["nuts requires tea"]),
        (["cola", "tea"], ["cola excludes tea"]),
        (["water", "gold"], ["option:gold"]),
    ],
)
def test_invalid_configurations_name_the_violated_constraint(
    selected: list[str], constraints: list[str]
) -> None:
    with pytest.raises(ConfigurationInvalid) as caught:
        BOX.configure(selected)
    assert [v.constraint for v in caught.value.violations] == constraints


@given(water=st.integers(0, 40), tea=st.integers(0, 40), price=st.integers(0, 2000))
def test_bundle_discount_is_sets_times_saving_and_never_negative(
    water: int, tea: int, price: int
) -> None:
    bundle = FixedBundle(
        rule_id="B",
        rule_version=1,
        currency="CNY",
        bundle_price=price,
        components=(BundleComponent(sku="WATER", qty=2), BundleComponent(sku="TEA", qty=1)),
    )
    cart = [CartLine(sku=s, qty=q) for s, q in (("WATER", water), ("TEA", tea)) if q > 0]
    if not cart:
        return
    priced = price_cart(make_context([PRICES], order_steps=[bundle]), cart)
    sets = min(water // 2, tea)
    expected = max(0, sets * (2 * 1000 + 600 - price))
    assert priced.totals.discount == min(expected, priced.totals.goods_amount)
    assert all(line.amount >= 0 for line in priced.lines)
    assert sum(line.amount for line in priced.lines) == priced.totals.payable
