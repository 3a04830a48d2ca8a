"""Price a dealer's cart: load the context from the database, run the pure pipeline.

Pricing errors (``CartInvalid`` and its line errors) become one 422 ``cart_invalid`` whose
``errors`` list every bad line; unknown and inactive SKUs are reported the same way.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog import read_revision
from server.errors import Invalid
from server.pricelists.loading import (
    PricingCache,
    SkuRule,
    candidate_lists,
    load_bundle_steps,
    load_dealer_facts,
    load_heads,
    load_lists_with_items_cached,
    load_promotion_steps,
    load_sku_rules_cached,
)
from server.pricing import (
    CartInvalid,
    CartLine,
    PricedCart,
    PricingContext,
    PricingError,
    SettlementOptions,
    price_cart,
)
from server.schemas import Request, Response
from server.text import one_line

SkuCode = Annotated[str, one_line(32, min_length=1)]
Quantity = Annotated[int, msgspec.Meta(ge=-(10**9), le=10**9)]


class CartLineIn(Request, kw_only=True):
    sku: SkuCode
    qty: Quantity


class CartIn(Request, kw_only=True):
    """Cart lines, and how the dealer would pay: ``useRebate`` (null: the dealer's default)
    and an exact ``rebateAmount`` (at most the cap), as on an order."""

    lines: Annotated[list[CartLineIn], msgspec.Meta(min_length=1, max_length=500)]
    use_rebate: bool | None = None
    rebate_amount: Annotated[int, msgspec.Meta(ge=1, le=10**12)] | None = None


class RuleRefOut(Response, kw_only=True):
    id: str
    version: int


class PricedLineOut(Response, kw_only=True):
    line: int
    sku: str
    qty: int
    list_unit_price: int
    unit_price: int
    list_amount: int
    amount_before_discounts: int
    discount: int
    amount: int
    gift: bool
    price_list: RuleRefOut | None
    promotions: list[RuleRefOut]


class TotalsOut(Response, kw_only=True):
    list_amount: int
    goods_amount: int
    discount: int
    payable: int


class SettlementOut(Response, kw_only=True):
    """How the payable would be paid; ``rebateCap`` is the most rebate may pay (the tier's
    share of ``rebateBasis``, the payable of the lines rebate may pay for)."""

    rebate: int
    prepaid: int
    remaining: int
    rebate_cap: int = 0
    rebate_basis: int = 0


class ExplanationOut(Response, kw_only=True):
    """One pipeline step: ``message`` in zh-CN and ``messageEn`` in English say what it did."""

    step: str
    rule_id: str | None
    rule_version: int | None
    line: int | None
    sku: str | None
    input_amount: int
    output_amount: int
    rounding_adjustment: Decimal
    message: str
    message_en: str
    applied: bool
    reason: str


class BasisOut(Response, kw_only=True):
    price_lists: list[RuleRefOut]
    rules: list[RuleRefOut]
    fingerprint: str


class PricedCartOut(Response, kw_only=True):
    """The priced cart with every pipeline step explained (amounts in fen)."""

    currency: str
    lines: list[PricedLineOut]
    totals: TotalsOut
    settlement: SettlementOut
    explanation: list[ExplanationOut]
    basis: BasisOut
    priced_at: datetime


def priced_cart_out(priced: PricedCart) -> PricedCartOut:
    return msgspec.convert(priced, PricedCartOut, from_attributes=True)


def _sku_errors(lines: list[CartLine], rules: dict[str, SkuRule]) -> dict[int, dict[str, Any]]:
    errors: dict[int, dict[str, Any]] = {}
    for index, line in enumerate(lines):
        rule = rules.get(line.sku)
        if rule is None:
            errors[index] = {
                "code": "sku_unknown",
                "line": index,
                "sku": line.sku,
                "message": f"商品 {line.sku} 不存在",
                "message_en": f"unknown SKU {line.sku}",
            }
        elif not rule.active:
            errors[index] = {
                "code": "sku_inactive",
                "line": index,
                "sku": line.sku,
                "message": f"商品 {line.sku} 已下架",
                "message_en": f"SKU {line.sku} is not on sale",
            }
    return errors


async def price_for_dealer(
    session: AsyncSession,
    cache: PricingCache,
    dealer_id: uuid.UUID,
    *,
    currency: str,
    now: datetime,
    lines: list[CartLine],
    exclude_promotions: frozenset[str] = frozenset(),
    revision: int | None = None,
    settlement: SettlementOptions | None = None,
) -> tuple[PricedCart, dict[str, SkuRule]]:
    """Price ``lines`` for the dealer at ``now``; raises ``Invalid`` listing every bad line.

    ``exclude_promotions`` names promotion codes to price without (an order whose promotion
    budget ran out); the cached steps are filtered per call, never changed. ``revision``:
    the catalog revision when the caller has just read it in one of its own statements.
    ``settlement``: the dealer's payment sources (``settlement.price_with_settlement``).

    Why long: a fixed sequence of loads for one catalog revision (facts, lists, steps, rules)
    and one pricing call; the signature and this docstring are a third of it.
    """
    # The revision first: whatever is read after it is at least that fresh, so it may be
    # remembered under it.
    if revision is None:
        revision = await read_revision(session)
    rules = await load_sku_rules_cached(session, cache, revision, (line.sku for line in lines))
    errors = _sku_errors(lines, rules)
    heads = await load_heads(session, cache, revision)
    dealer = await load_dealer_facts(session, cache, revision, dealer_id)
    lists = await load_lists_with_items_cached(
        session, cache, revision, heads, candidate_lists(heads, dealer, currency, now), rules
    )
    promotions = await load_promotion_steps(session, cache, revision, currency)
    line_steps, order_steps = promotions.line_steps, promotions.order_steps
    if exclude_promotions:
        line_steps = tuple(s for s in line_steps if s.rule_id not in exclude_promotions)
        order_steps = tuple(s for s in order_steps if s.rule_id not in exclude_promotions)
    bundles = tuple(
        step
        for step in await load_bundle_steps(session, cache, revision)
        if step.currency == currency
    )
    context = PricingContext(
        dealer=dealer,
        currency=currency,
        price_lists=lists,
        now=now,
        line_steps=line_steps,
        order_steps=(*order_steps, *bundles),
        settlement=settlement,
    )
    try:
        priced = price_cart(context, lines)
    except CartInvalid as exc:
        for detail in exc.details()["errors"]:  # type: ignore[union-attr]
            line = int(detail["line"])  # type: ignore[index]
            errors.setdefault(line, detail)  # type: ignore[arg-type]
        priced = None
    except PricingError as exc:  # a rule misconfigured by HQ, not the dealer's input
        raise Invalid(exc.code, exc.message, exc.message_en, errors=[exc.details()]) from exc
    if errors or priced is None:
        raise Invalid(
            "cart_invalid",
            f"购物车有 {len(errors)} 处错误",
            f"The cart has {len(errors)} invalid line(s)",
            errors=[errors[k] for k in sorted(errors)],
        )
    return priced, rules
