"""Settlement: split the payable between rebate, prepaid and the rest.

Rebate pays at most ``rebate_cap_bp`` of the payable (rounded down, so the cap is never
exceeded) and at most the rebate balance; prepaid then pays what it can of the rest;
``remaining`` is left for credit or online payment. The goods amount does not change. Each
source used leaves a row whose input / output are the amounts still due before / after it.
"""

from __future__ import annotations

from server.messages import Text, texts
from server.pricing.errors import RuleRef
from server.pricing.model import ExplanationRow, SettlementOptions, SettlementSplit, Step
from server.pricing.money import BASIS_POINTS, ZERO_ADJUSTMENT, format_basis_points, format_fen


def settle(
    options: SettlementOptions | None,
    payable: int,
    rows: list[ExplanationRow],
    applied: dict[tuple[str, int], RuleRef],
) -> SettlementSplit:
    """Step 5: split the payable between rebate, prepaid and the rest."""
    if options is None:
        return SettlementSplit(rebate=0, prepaid=0, remaining=payable)
    rule = options.rule
    rebate = 0
    if options.use_rebate and options.rebate_balance > 0 and options.rebate_cap_bp > 0:
        cap = payable * min(options.rebate_cap_bp, BASIS_POINTS) // BASIS_POINTS
        rebate = min(options.rebate_balance, cap)
        text = texts(
            "pricing.rebate",
            rebate=format_fen(rebate),
            cap_rate=format_basis_points(options.rebate_cap_bp),
            cap=format_fen(cap),
            balance=format_fen(options.rebate_balance),
        )
        rows.append(_row(rule, payable, rebate, text))
    prepaid = 0
    due = payable - rebate
    if options.use_prepaid and options.prepaid_balance > 0:
        prepaid = min(options.prepaid_balance, due)
        text = texts(
            "pricing.prepaid",
            prepaid=format_fen(prepaid),
            balance=format_fen(options.prepaid_balance),
        )
        rows.append(_row(rule, due, prepaid, text))
    if rule is not None and (rebate or prepaid):
        applied[(rule.id, rule.version)] = rule
    return SettlementSplit(rebate=rebate, prepaid=prepaid, remaining=due - prepaid)


def _row(rule: RuleRef | None, due: int, paid: int, text: Text) -> ExplanationRow:
    """A source that paid ``paid`` of ``due`` (``not_reached`` when it paid nothing)."""
    return ExplanationRow(
        step=Step.SETTLEMENT,
        rule_id=None if rule is None else rule.id,
        rule_version=None if rule is None else rule.version,
        line=None,
        sku=None,
        input_amount=due,
        output_amount=due - paid,
        rounding_adjustment=ZERO_ADJUSTMENT,
        message=text.zh,
        message_en=text.en,
        reason="applied" if paid else "not_reached",
        applied=paid > 0,
    )
