"""Concrete promotion steps: ``PercentOffLine`` (line) and ``ThresholdDiscount`` (满减, order).

Both are frozen structs satisfying the ``LineStep`` / ``OrderStep`` protocols. Promotion
windows are aware UTC instants (the loader turns brand-time-zone dates into instants);
``segments`` empty means every dealer, otherwise the dealer needs one of them.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from server.pricing.errors import PromotionCurrencyMismatch, RuleRef
from server.pricing.model import DealerFacts, PricingContext
from server.pricing.money import BASIS_POINTS, format_basis_points, format_fen, percent_of
from server.pricing.steps import CartView, LineAdjustment, LineView, OrderAdjustment


def _eligible(
    segments: frozenset[str],
    starts_at: datetime | None,
    ends_at: datetime | None,
    dealer: DealerFacts,
    now: datetime,
) -> bool:
    if starts_at is not None and now < starts_at:
        return False
    if ends_at is not None and now >= ends_at:
        return False
    return not segments or not segments.isdisjoint(dealer.segments)


class PercentOffLine(msgspec.Struct, frozen=True, kw_only=True):
    """Take ``percent_off_bp`` basis points off the current amount of lines of listed SKUs.

    The discount is rounded half-up to the fen (so 15% of 333 fen is 50 fen).
    """

    rule_id: str
    rule_version: int
    skus: frozenset[str]
    percent_off_bp: int
    priority: int = 0
    exclusive_group: str | None = None
    stackable: bool = True
    segments: frozenset[str] = frozenset()
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.percent_off_bp <= BASIS_POINTS:
            raise ValueError(f"{self.rule_id}: percent_off_bp must be within 0..10000")

    def apply_line(self, line: LineView, context: PricingContext) -> LineAdjustment | None:
        """The percent discount for a listed SKU, or ``None``."""
        if line.sku not in self.skus:
            return None
        if not _eligible(self.segments, self.starts_at, self.ends_at, context.dealer, context.now):
            return None
        discount, adjustment = percent_of(line.amount, self.percent_off_bp)
        rate = format_basis_points(self.percent_off_bp)
        return LineAdjustment(
            discount=discount,
            # The output is amount - discount, so its rounding is the discount's, negated.
            rounding_adjustment=-adjustment,
            message=(
                f"{line.sku} 立减 {rate}：¥{format_fen(line.amount)} 减 ¥{format_fen(discount)}"
            ),
        )


class ThresholdDiscount(msgspec.Struct, frozen=True, kw_only=True):
    """满减: ``discount`` fen off once the eligible amount reaches ``threshold``.

    With ``repeat`` the discount is given for every full ``threshold`` (每满 10000 减 1000),
    at most ``max_times`` times if set. ``skus`` limits the eligible lines (``None``: all);
    the discount is spread over the eligible lines only.
    """

    rule_id: str
    rule_version: int
    currency: str
    threshold: int
    discount: int
    repeat: bool = False
    max_times: int | None = None
    skus: frozenset[str] | None = None
    priority: int = 0
    exclusive_group: str | None = None
    stackable: bool = True
    segments: frozenset[str] = frozenset()
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.threshold <= 0 or self.discount < 0:
            raise ValueError(f"{self.rule_id}: threshold must be > 0 and discount >= 0")
        if self.max_times is not None and self.max_times < 1:
            raise ValueError(f"{self.rule_id}: max_times must be >= 1")

    def apply_order(self, cart: CartView, context: PricingContext) -> OrderAdjustment | None:
        """The 满减 discount over the eligible lines, or ``None`` below the threshold."""
        if self.currency != context.currency:
            raise PromotionCurrencyMismatch(
                rule=RuleRef(id=self.rule_id, version=self.rule_version),
                currency=self.currency,
                cart_currency=context.currency,
            )
        if not _eligible(self.segments, self.starts_at, self.ends_at, context.dealer, context.now):
            return None
        skus = self.skus
        if skus is None:
            base = cart.amount
            lines = None
        else:
            eligible = [line for line in cart.lines if line.sku in skus]
            base = sum(line.amount for line in eligible)
            lines = frozenset(line.line for line in eligible)
        times = base // self.threshold
        if not self.repeat:
            times = min(times, 1)
        if self.max_times is not None:
            times = min(times, self.max_times)
        if times == 0:
            return None
        amount = times * self.discount
        each = "每满" if self.repeat else "满"
        return OrderAdjustment(
            discount=amount,
            lines=lines,
            message=(
                f"{each} ¥{format_fen(self.threshold)} 减 ¥{format_fen(self.discount)}："
                f"¥{format_fen(base)} 共减 ¥{format_fen(amount)}"
            ),
        )
