"""Settlement: split the payable between rebate, prepaid and the rest.

Rebate (返利抵扣) pays at most ``rebate_cap_bp`` of the eligible amount (rounded down, so the
cap is never exceeded), at most the rebate balance and at most what the dealer chose;
prepaid then pays what it can of the rest; ``remaining`` is left for credit or online
payment. The goods amount does not change. Each source used leaves a row whose input /
output are the amounts still due before / after it; a dealer who does not use rebate, or
whose tier may not, gets a row saying so.

The eligible amount (:func:`rebate_basis`) is the payable of the lines rebate may pay for:
not of an excluded SKU (the tier's excluded categories) and, when the tier excludes promoted
lines, not touched by any promotion (a line promotion, a share of an order promotion, a
gift). Order placement computes the same cap with the same function (``rebate_cap``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from server.messages import Text, texts
from server.pricing.errors import RuleRef
from server.pricing.model import (
    ExplanationRow,
    PricedLine,
    SettlementOptions,
    SettlementSplit,
    Step,
)
from server.pricing.money import BASIS_POINTS, ZERO_ADJUSTMENT, format_basis_points, format_fen

RebateLine = tuple[str, int, bool]
"""A line as the rebate cap sees it: SKU code, payable (fen), touched by a promotion."""


def is_promoted(line: PricedLine) -> bool:
    """Whether a promotion touched the line (discounted it, shared an order discount, gave it)."""
    return line.gift or bool(line.promotions)


def rebate_basis(
    lines: Iterable[RebateLine], excluded_skus: frozenset[str], excludes_promoted: bool
) -> int:
    """The payable of the lines rebate may pay for (fen)."""
    return sum(
        amount
        for sku, amount, promoted in lines
        if sku not in excluded_skus and not (excludes_promoted and promoted)
    )


def rebate_cap(basis: int, cap_bp: int) -> int:
    """The most rebate may pay: ``cap_bp`` of the eligible amount, rounded down."""
    return max(basis, 0) * min(max(cap_bp, 0), BASIS_POINTS) // BASIS_POINTS


def with_exclusions(text: Text, categories: Sequence[str], promoted: bool) -> Text:
    """``text`` followed, in each language, by what the rebate cap leaves out (if anything)."""
    parts: list[Text] = []
    if categories:
        parts.append(texts("pricing.rebate_excluded_categories", categories=", ".join(categories)))
    if promoted:
        parts.append(texts("pricing.rebate_excluded_promoted"))
    if not parts:
        return text
    zh = texts("pricing.rebate_excluding", what="、".join(p.zh for p in parts)).zh
    en = texts("pricing.rebate_excluding", what=", ".join(p.en for p in parts)).en
    return Text(f"{text.zh}；{zh}", f"{text.en}; {en}")


def settle(
    options: SettlementOptions | None,
    payable: int,
    lines: Iterable[PricedLine],
    rows: list[ExplanationRow],
    applied: dict[tuple[str, int], RuleRef],
) -> SettlementSplit:
    """Step 5: split the payable between rebate, prepaid and the rest."""
    if options is None:
        return SettlementSplit(rebate=0, prepaid=0, remaining=payable)
    rule = options.rule
    rebate = cap = basis = 0
    if options.use_rebate and options.rebate_cap_bp > 0:
        basis = rebate_basis(
            ((ln.sku, ln.amount, is_promoted(ln)) for ln in lines),
            options.rebate_excluded_skus,
            options.rebate_excludes_promoted,
        )
        cap = min(rebate_cap(basis, options.rebate_cap_bp), payable)
        wanted = cap if options.rebate_requested is None else min(options.rebate_requested, cap)
        rebate = max(min(options.rebate_balance, wanted), 0)
        rows.append(_rebate_row(rule, options, payable, rebate, cap, basis))
    elif options.rebate_balance > 0:
        code = (
            "pricing.rebate_not_chosen" if not options.use_rebate else "pricing.rebate_not_allowed"
        )
        text = texts(code, balance=format_fen(options.rebate_balance))
        reason = "not_chosen" if not options.use_rebate else "not_allowed"
        rows.append(_row(rule, payable, 0, text, reason))
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
    return SettlementSplit(
        rebate=rebate,
        prepaid=prepaid,
        remaining=due - prepaid,
        rebate_cap=cap,
        rebate_basis=basis,
    )


def _rebate_row(
    rule: RuleRef | None,
    options: SettlementOptions,
    payable: int,
    rebate: int,
    cap: int,
    basis: int,
) -> ExplanationRow:
    """What rebate paid and why: the cap on the eligible amount, what it leaves out, the
    balance (``capped`` when the cap, not the balance, was the limit)."""
    text = texts(
        "pricing.rebate",
        rebate=format_fen(rebate),
        cap_rate=format_basis_points(options.rebate_cap_bp),
        basis=format_fen(basis),
        cap=format_fen(cap),
        balance=format_fen(options.rebate_balance),
    )
    text = with_exclusions(
        text,
        options.rebate_excluded_categories or sorted(options.rebate_excluded_skus),
        options.rebate_excludes_promoted,
    )
    reason = None
    if rebate and rebate == cap and options.rebate_balance > cap:
        reason = "capped"
    return _row(rule, payable, rebate, text, reason)


def _row(
    rule: RuleRef | None, due: int, paid: int, text: Text, reason: str | None = None
) -> ExplanationRow:
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
        reason=reason or ("applied" if paid else "not_reached"),
        applied=paid > 0,
    )
