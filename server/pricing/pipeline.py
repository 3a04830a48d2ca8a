"""The pricing pipeline: ``price_cart(context, lines) -> PricedCart``.

Fixed order, every step recorded as an ``ExplanationRow``:

1. **list price** - the resolved price list's unit price x quantity (see ``resolution``).
2. **volume break** - range or slab breaks of the item (see ``breaks``); rows only for
   items that have breaks (``not_reached`` when no break applies).
3. **line promotions** - ``LineStep``s by ``(-priority, rule_id)``, each over every line.
4. **order promotions** - ``OrderStep``s in the same order; discounts are spread over the
   targeted lines by largest remainder (``allocation``), capped so no line goes below zero
   (a capped discount is recorded with reason ``capped``); gift lines are appended.
5. **settlement** - rebate (up to ``rebate_cap_bp`` of the eligible lines' payable, rounded
   down, and the balance; see ``settlement``), then prepaid; it only splits the payable by
   source. Its rows carry the amount still to pay before and after each source.

Exclusive groups and stacking are described in ``steps``. A step that would apply but is
blocked leaves a row with ``applied=False`` and the reason. Line validation collects every
error and raises one ``CartInvalid``. Results do not depend on the order of cart lines
(ties in allocation are broken by SKU; a SKU may appear on one line only).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from server.messages import Text, texts
from server.pricing.breaks import BreakKind, BreakPrice, price_breaks
from server.pricing.errors import (
    CartInvalid,
    DuplicateSku,
    LineError,
    QuantityBelowMinimum,
    QuantityNotPackMultiple,
    QuantityNotPositive,
    RuleRef,
)
from server.pricing.model import (
    CartLine,
    ExplanationRow,
    OrderTotals,
    PricedCart,
    PricedLine,
    PriceItem,
    PricingBasis,
    PricingContext,
    Step,
)
from server.pricing.money import ZERO_ADJUSTMENT, format_fen
from server.pricing.resolution import PriceResolver, ResolvedPrice
from server.pricing.settlement import settle
from server.pricing.stacking import WorkingLine, run_line_steps, run_order_steps


def price_cart(context: PricingContext, cart: Sequence[CartLine]) -> PricedCart:
    """Price a cart for the context's dealer; raises ``CartInvalid`` with every line error."""
    if context.now.tzinfo is None:
        raise ValueError("PricingContext.now must be an aware datetime")
    rows: list[ExplanationRow] = []
    lines = _price_lines(context, cart, rows)
    applied: dict[tuple[str, int], RuleRef] = {}
    run_line_steps(context, lines, rows, applied)
    gifts = run_order_steps(context, lines, len(cart), rows, applied)
    lines.extend(gifts)
    priced = tuple(line.freeze() for line in lines)
    goods = sum(line.amount_before_discounts for line in priced)
    payable = sum(line.amount for line in priced)
    totals = OrderTotals(
        list_amount=sum(line.list_amount for line in priced),
        goods_amount=goods,
        discount=goods - payable,
        payable=payable,
    )
    split = settle(context.settlement, payable, priced, rows, applied)
    return PricedCart(
        currency=context.currency,
        lines=priced,
        totals=totals,
        settlement=split,
        explanation=tuple(rows),
        basis=_basis(priced, applied),
        priced_at=context.now,
    )


def _price_lines(
    context: PricingContext, cart: Sequence[CartLine], rows: list[ExplanationRow]
) -> list[WorkingLine]:
    """Steps 1 and 2, with validation of every line.

    Why long: each line is validated and priced in one pass that collects every line's errors
    (duplicate, quantity, whole cases, minimum, no price for the SKU) so the dealer sees
    them all at once.
    """
    resolver = PriceResolver(context.price_lists, context.dealer, context.currency, context.now)
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    lines: list[WorkingLine] = []
    for index, request in enumerate(cart):
        sku = request.sku
        qty = request.qty
        first = seen.get(sku)
        if first is not None:
            errors.append(DuplicateSku(line=index, sku=sku, first_line=first))
            continue
        seen[sku] = index
        failed = qty <= 0
        if failed:
            errors.append(QuantityNotPositive(line=index, sku=sku, qty=qty))
        try:
            resolved = resolver.resolve(sku, index)
        except LineError as exc:
            errors.append(exc)
            continue
        if failed:
            continue
        item = resolved.item
        if item.whole_cases and qty % item.pack_size:
            errors.append(
                QuantityNotPackMultiple(line=index, sku=sku, qty=qty, pack_size=item.pack_size)
            )
            failed = True
        if qty < item.min_qty:
            errors.append(QuantityBelowMinimum(line=index, sku=sku, qty=qty, min_qty=item.min_qty))
            failed = True
        if failed or errors:
            continue
        lines.append(_price_line(index, request, resolved, rows))
    if errors:
        raise CartInvalid(errors)
    return lines


def _price_line(
    index: int, request: CartLine, resolved: ResolvedPrice, rows: list[ExplanationRow]
) -> WorkingLine:
    """Steps 1 and 2 for one valid line: its list price and volume break, each explained."""
    item = resolved.item
    sku, qty = request.sku, request.qty
    ref = resolved.price_list.ref
    list_amount = item.unit_price * qty
    scope = texts(f"pricing.scope.{resolved.price_list.scope}")
    text = texts(
        "pricing.list_price",
        scope_zh=scope.zh,
        scope_en=scope.en,
        list=ref.id,
        version=ref.version,
        unit=format_fen(item.unit_price),
        qty=qty,
        amount=format_fen(list_amount),
    )
    rows.append(
        ExplanationRow(
            step=Step.LIST_PRICE,
            rule_id=ref.id,
            rule_version=ref.version,
            line=index,
            sku=sku,
            input_amount=list_amount,
            output_amount=list_amount,
            rounding_adjustment=ZERO_ADJUSTMENT,
            message=text.zh,
            message_en=text.en,
        )
    )
    unit = item.unit_price
    amount = list_amount
    if item.breaks:
        priced = price_breaks(item.break_kind, qty, item.unit_price, item.breaks)
        unit = priced.unit_price
        amount = priced.amount
        rows.append(_break_row(index, sku, item, ref, list_amount, priced))
    return WorkingLine(
        line=index,
        sku=sku,
        qty=qty,
        list_unit_price=item.unit_price,
        unit_price=unit,
        amount=amount,
        price_list=ref,
    )


def _break_row(
    index: int, sku: str, item: PriceItem, ref: RuleRef, list_amount: int, priced: BreakPrice
) -> ExplanationRow:
    reached = priced.tier >= 0
    text = _break_text(item, priced)
    return ExplanationRow(
        step=Step.VOLUME_BREAK,
        rule_id=ref.id,
        rule_version=ref.version,
        line=index,
        sku=sku,
        input_amount=list_amount,
        output_amount=priced.amount,
        rounding_adjustment=ZERO_ADJUSTMENT,
        message=text.zh,
        message_en=text.en,
        applied=reached,
        reason="applied" if reached else "not_reached",
    )


def _break_text(item: PriceItem, priced: BreakPrice) -> Text:
    """What the volume break did to a line, in both languages."""
    if priced.tier < 0:
        return texts("pricing.break_not_reached", min_qty=item.breaks[0].min_qty)
    if item.break_kind is BreakKind.SLAB:
        return texts(
            "pricing.break_slab",
            amount=format_fen(priced.amount),
            unit=format_fen(priced.unit_price),
            tier=priced.tier + 1,
        )
    return texts(
        "pricing.break_range",
        min_qty=item.breaks[priced.tier].min_qty,
        unit=format_fen(priced.unit_price),
    )


def _basis(lines: Sequence[PricedLine], applied: dict[tuple[str, int], RuleRef]) -> PricingBasis:
    lists = {
        (line.price_list.id, line.price_list.version): line.price_list
        for line in lines
        if line.price_list is not None
    }
    list_refs = tuple(lists[key] for key in sorted(lists))
    rule_refs = tuple(applied[key] for key in sorted(applied))
    text = "\n".join(
        [f"list:{ref.id}@{ref.version}" for ref in list_refs]
        + [f"rule:{ref.id}@{ref.version}" for ref in rule_refs]
    )
    return PricingBasis(
        price_lists=list_refs,
        rules=rule_refs,
        fingerprint=hashlib.sha256(text.encode()).hexdigest(),
    )
