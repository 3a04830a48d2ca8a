"""Applying promotion steps: exclusive groups, stacking, allocation of order discounts.

``WorkingLine`` is the pipeline's mutable line (the concrete ``LineView``).
``run_line_steps`` and ``run_order_steps`` are steps 3 and 4 of the pipeline; the rules
they enforce are described in ``steps``.
"""

from __future__ import annotations

from server.messages import Text, texts
from server.pricing.allocation import allocate
from server.pricing.errors import RuleRef
from server.pricing.model import ExplanationRow, PricedLine, PricingContext, Step
from server.pricing.money import ZERO_ADJUSTMENT, format_fen, rounding_adjustment
from server.pricing.steps import (
    CartView,
    LineAdjustment,
    OrderAdjustment,
    PromotionStep,
    step_order,
    step_ref,
    step_skus,
)

SKIPPED_EXCLUSIVE = "skipped_exclusive_group"
SKIPPED_NOT_STACKABLE = "skipped_not_stackable"


class WorkingLine:
    """A line while the pipeline runs; satisfies ``LineView``."""

    __slots__ = (
        "amount",
        "amount_before_discounts",
        "gift",
        "groups",
        "line",
        "list_amount",
        "list_unit_price",
        "locked",
        "price_list",
        "promotions",
        "qty",
        "sku",
        "unit_price",
    )

    def __init__(
        self,
        *,
        line: int,
        sku: str,
        qty: int,
        list_unit_price: int,
        unit_price: int,
        amount: int,
        price_list: RuleRef | None,
        gift: bool = False,
    ) -> None:
        self.line = line
        self.sku = sku
        self.qty = qty
        self.list_unit_price = list_unit_price
        self.unit_price = unit_price
        self.list_amount = list_unit_price * qty
        self.amount_before_discounts = amount
        self.amount = amount
        self.price_list = price_list
        self.gift = gift
        self.promotions: list[RuleRef] = []
        self.groups: set[str] = set()
        self.locked = False

    def freeze(self) -> PricedLine:
        return PricedLine(
            line=self.line,
            sku=self.sku,
            qty=self.qty,
            list_unit_price=self.list_unit_price,
            unit_price=self.unit_price,
            list_amount=self.list_amount,
            amount_before_discounts=self.amount_before_discounts,
            discount=self.amount_before_discounts - self.amount,
            amount=self.amount,
            gift=self.gift,
            price_list=self.price_list,
            promotions=tuple(self.promotions),
        )


def _skip_row(
    step: Step,
    ref: RuleRef,
    line: WorkingLine | None,
    amount: int,
    *,
    reason: str,
    adjustment: LineAdjustment | OrderAdjustment,
) -> ExplanationRow:
    # reason is SKIPPED_EXCLUSIVE or SKIPPED_NOT_STACKABLE: each has its catalogue text.
    text = texts(f"pricing.{reason}", message=adjustment.message, message_en=adjustment.message_en)
    return ExplanationRow(
        step=step,
        rule_id=ref.id,
        rule_version=ref.version,
        line=None if line is None else line.line,
        sku=None if line is None else line.sku,
        input_amount=amount,
        output_amount=amount,
        rounding_adjustment=ZERO_ADJUSTMENT,
        message=text.zh,
        message_en=text.en,
        applied=False,
        reason=reason,
    )


def _text(adjustment: LineAdjustment | OrderAdjustment, note: str | None, **params: str) -> Text:
    """The step's own message, or the catalogue's ``note`` wrapped around it (capped)."""
    if note is None:
        return Text(adjustment.message, adjustment.message_en)
    return texts(note, message=adjustment.message, message_en=adjustment.message_en, **params)


def run_line_steps(
    context: PricingContext,
    lines: list[WorkingLine],
    rows: list[ExplanationRow],
    applied: dict[tuple[str, int], RuleRef],
) -> None:
    """Step 3: line promotions (a step naming its SKUs only sees lines of those SKUs)."""
    for step in sorted(context.line_steps, key=step_order):
        ref = step_ref(step)
        group = step.exclusive_group
        stackable = step.stackable
        skus = step_skus(step)
        for line in lines if skus is None else [ln for ln in lines if ln.sku in skus]:
            adjustment = step.apply_line(line, context)
            if adjustment is None:
                continue
            reason = _line_block(line, group, stackable)
            if reason is not None:
                rows.append(
                    _skip_row(
                        Step.LINE_PROMOTION,
                        ref,
                        line,
                        line.amount,
                        reason=reason,
                        adjustment=adjustment,
                    )
                )
                continue
            rows.append(_take_line_discount(ref, line, adjustment))
            line.promotions.append(ref)
            if group is not None:
                line.groups.add(group)
            if not stackable:
                line.locked = True
            applied[(ref.id, ref.version)] = ref


def _take_line_discount(
    ref: RuleRef, line: WorkingLine, adjustment: LineAdjustment
) -> ExplanationRow:
    """Take the step's discount off the line, capped at its amount; the row that says so."""
    discount = adjustment.discount
    if discount < 0:
        raise ValueError(f"line step {ref.id} returned a negative discount")
    before = line.amount
    capped = discount > before
    if capped:
        discount = before
    line.amount = before - discount
    text = _text(adjustment, "pricing.line_capped" if capped else None)
    return ExplanationRow(
        step=Step.LINE_PROMOTION,
        rule_id=ref.id,
        rule_version=ref.version,
        line=line.line,
        sku=line.sku,
        input_amount=before,
        output_amount=line.amount,
        rounding_adjustment=ZERO_ADJUSTMENT if capped else adjustment.rounding_adjustment,
        message=text.zh,
        message_en=text.en,
        reason="capped" if capped else "applied",
    )


def _line_block(line: WorkingLine, group: str | None, stackable: bool) -> str | None:
    if line.locked:
        return SKIPPED_NOT_STACKABLE
    if group is not None and group in line.groups:
        return SKIPPED_EXCLUSIVE
    if not stackable and line.promotions:
        return SKIPPED_NOT_STACKABLE
    return None


def run_order_steps(
    context: PricingContext,
    lines: list[WorkingLine],
    request_count: int,
    rows: list[ExplanationRow],
    applied: dict[tuple[str, int], RuleRef],
) -> list[WorkingLine]:
    """Step 4: order promotions; returns the gift lines.

    Why long: one pass over the order steps whose state (groups used, whether an order promotion
    applied or closed the stack, gift numbering) carries from step to step; the decisions it
    makes are apart (``_order_block``, ``_allocate_discount``).
    """
    used_groups: set[str] = set()
    for line in lines:
        used_groups.update(line.groups)
    gifts: list[WorkingLine] = []
    order_applied = False
    closed = False
    for step in sorted(context.order_steps, key=step_order):
        ref = step_ref(step)
        group = step.exclusive_group
        stackable = step.stackable
        view_lines = [
            line for line in lines if not line.locked and (stackable or not line.promotions)
        ]
        view = CartView(lines=tuple(view_lines), amount=sum(line.amount for line in view_lines))
        adjustment = step.apply_order(view, context)
        if adjustment is None:
            continue
        total_before = sum(line.amount for line in lines)
        reason = _order_block(step, used_groups, order_applied, closed)
        if reason is not None:
            rows.append(
                _skip_row(
                    Step.ORDER_PROMOTION,
                    ref,
                    None,
                    total_before,
                    reason=reason,
                    adjustment=adjustment,
                )
            )
            continue
        if adjustment.discount < 0:
            raise ValueError(f"order step {ref.id} returned a negative discount")
        wanted = adjustment.lines
        targets = (
            view_lines if wanted is None else [line for line in view_lines if line.line in wanted]
        )
        line_rows: list[ExplanationRow] = []
        granted = _allocate_discount(ref, adjustment.discount, targets, line_rows)
        capped = granted < adjustment.discount
        text = _text(
            adjustment, "pricing.order_capped" if capped else None, granted=format_fen(granted)
        )
        rows.append(
            ExplanationRow(
                step=Step.ORDER_PROMOTION,
                rule_id=ref.id,
                rule_version=ref.version,
                line=None,
                sku=None,
                input_amount=total_before,
                output_amount=total_before - granted,
                rounding_adjustment=ZERO_ADJUSTMENT,
                message=text.zh,
                message_en=text.en,
                reason="capped" if capped else "applied",
            )
        )
        rows.extend(line_rows)
        for gift in adjustment.gifts:
            gift_line = WorkingLine(
                line=request_count + len(gifts),
                sku=gift.sku,
                qty=gift.qty,
                list_unit_price=0,
                unit_price=0,
                amount=0,
                price_list=None,
                gift=True,
            )
            gift_line.promotions.append(ref)
            gifts.append(gift_line)
            text = texts("pricing.gift", sku=gift.sku, qty=gift.qty)
            rows.append(
                ExplanationRow(
                    step=Step.GIFT,
                    rule_id=ref.id,
                    rule_version=ref.version,
                    line=gift_line.line,
                    sku=gift.sku,
                    input_amount=0,
                    output_amount=0,
                    rounding_adjustment=ZERO_ADJUSTMENT,
                    message=text.zh,
                    message_en=text.en,
                )
            )
        if group is not None:
            used_groups.add(group)
        order_applied = True
        closed = not stackable
        applied[(ref.id, ref.version)] = ref
    return gifts


def _order_block(
    step: PromotionStep, used_groups: set[str], order_applied: bool, closed: bool
) -> str | None:
    if closed:
        return SKIPPED_NOT_STACKABLE
    if step.exclusive_group is not None and step.exclusive_group in used_groups:
        return SKIPPED_EXCLUSIVE
    if not step.stackable and order_applied:
        return SKIPPED_NOT_STACKABLE
    return None


def _allocate_discount(
    ref: RuleRef, discount: int, targets: list[WorkingLine], rows: list[ExplanationRow]
) -> int:
    """Spread ``discount`` over ``targets`` by current amount; returns the amount granted."""
    if discount == 0 or not targets:
        return 0
    weights = [line.amount for line in targets]
    total = sum(weights)
    if total == 0:
        return 0
    allocation = allocate(discount, weights, keys=[line.sku for line in targets])
    granted = discount - allocation.unallocated
    for line, weight, part in zip(targets, weights, allocation.parts, strict=True):
        if part == 0:
            continue
        line.amount = weight - part
        text = texts("pricing.order_share", part=format_fen(part))
        rows.append(
            ExplanationRow(
                step=Step.ORDER_PROMOTION,
                rule_id=ref.id,
                rule_version=ref.version,
                line=line.line,
                sku=line.sku,
                input_amount=weight,
                output_amount=line.amount,
                # output - exact output = exact share - part
                rounding_adjustment=-rounding_adjustment(part, granted * weight, total),
                message=text.zh,
                message_en=text.en,
            )
        )
        line.promotions.append(ref)
    return granted
