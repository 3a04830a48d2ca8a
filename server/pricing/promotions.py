"""Concrete promotion steps, frozen structs satisfying ``LineStep`` / ``OrderStep``.

Line steps: ``PercentOffLine`` (折扣), ``FixedAmountOffLine`` (每件立减), ``SpecialPriceLine``
(特价). Order steps: ``ThresholdDiscount`` (满减, once or every N), ``TieredThreshold``
(阶梯满减), ``BuyXGetY`` (买赠). The newer steps carry an ``Eligibility`` (tier, region,
dealer, segment, window) checked against the context's dealer and ``now``. Promotion
windows are aware UTC instants (the loader turns brand-time-zone dates into instants);
``segments`` empty means every dealer, otherwise the dealer needs one of them.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import msgspec

from server.messages import texts
from server.pricing.errors import PromotionCurrencyMismatch, RuleRef
from server.pricing.model import DealerFacts, PricingContext
from server.pricing.money import BASIS_POINTS, format_basis_points, format_fen, percent_of
from server.pricing.steps import CartView, GiftLine, LineAdjustment, LineView, OrderAdjustment


def pilot_bucket(pilot_key: str, dealer_id: str) -> int:
    """A dealer's stable bucket 0..9999 for a pilot: SHA-256 of promotion id and dealer id."""
    digest = hashlib.sha256(f"{pilot_key}:{dealer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BASIS_POINTS


def in_pilot(pilot_key: str, dealer_id: str, share_bp: int) -> bool:
    """Whether the dealer is in the pilot's test group (else the control group)."""
    return pilot_bucket(pilot_key, dealer_id) < share_bp


class Eligibility(msgspec.Struct, frozen=True, kw_only=True):
    """Who and when a promotion applies to; an empty set means 'no restriction'.

    ``regions`` match any of the dealer's authorized regions or their ancestors (the loader
    gives ``DealerFacts.regions`` with ancestors). The window is half-open, in UTC.
    """

    tiers: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    dealers: frozenset[str] = frozenset()
    excluded_dealers: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    pilot_key: str = ""
    pilot_share_bp: int | None = None

    def admits(self, dealer: DealerFacts, now: datetime) -> bool:
        """Whether ``dealer`` may have the promotion at ``now`` (pilot control group: no)."""
        if self.pilot_share_bp is not None and not in_pilot(
            self.pilot_key, dealer.id, self.pilot_share_bp
        ):
            return False
        if self.starts_at is not None and now < self.starts_at:
            return False
        if self.ends_at is not None and now >= self.ends_at:
            return False
        if dealer.id in self.excluded_dealers:
            return False
        if self.dealers and dealer.id not in self.dealers:
            return False
        if self.tiers and dealer.tier not in self.tiers:
            return False
        if self.regions and self.regions.isdisjoint(r.code for r in dealer.regions):
            return False
        return not self.segments or not self.segments.isdisjoint(dealer.segments)


EVERYONE = Eligibility()


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
    eligibility: Eligibility = EVERYONE

    def __post_init__(self) -> None:
        if not 0 <= self.percent_off_bp <= BASIS_POINTS:
            raise ValueError(f"{self.rule_id}: percent_off_bp must be within 0..10000")

    def apply_line(self, line: LineView, context: PricingContext) -> LineAdjustment | None:
        """The percent discount for a listed SKU, or ``None``."""
        if line.sku not in self.skus:
            return None
        if not _eligible(self.segments, self.starts_at, self.ends_at, context.dealer, context.now):
            return None
        if not self.eligibility.admits(context.dealer, context.now):
            return None
        discount, adjustment = percent_of(line.amount, self.percent_off_bp)
        text = texts(
            "pricing.percent_off",
            sku=line.sku,
            rate=format_basis_points(self.percent_off_bp),
            amount=format_fen(line.amount),
            discount=format_fen(discount),
        )
        return LineAdjustment(
            discount=discount,
            # The output is amount - discount, so its rounding is the discount's, negated.
            rounding_adjustment=-adjustment,
            message=text.zh,
            message_en=text.en,
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
    eligibility: Eligibility = EVERYONE

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
        if not self.eligibility.admits(context.dealer, context.now):
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
        text = texts(
            "pricing.threshold_repeat" if self.repeat else "pricing.threshold",
            threshold=format_fen(self.threshold),
            discount=format_fen(self.discount),
            base=format_fen(base),
            total=format_fen(amount),
        )
        return OrderAdjustment(discount=amount, lines=lines, message=text.zh, message_en=text.en)


class FixedAmountOffLine(msgspec.Struct, frozen=True, kw_only=True):
    """Take ``amount_off`` fen off each unit of lines of listed SKUs (每件立减)."""

    rule_id: str
    rule_version: int
    skus: frozenset[str]
    amount_off: int
    priority: int = 0
    exclusive_group: str | None = None
    stackable: bool = True
    eligibility: Eligibility = EVERYONE

    def __post_init__(self) -> None:
        if self.amount_off < 0:
            raise ValueError(f"{self.rule_id}: amount_off must be >= 0")

    def apply_line(self, line: LineView, context: PricingContext) -> LineAdjustment | None:
        """``amount_off`` times the quantity (the pipeline caps it at the line amount)."""
        if line.sku not in self.skus or not self.eligibility.admits(context.dealer, context.now):
            return None
        discount = self.amount_off * line.qty
        text = texts(
            "pricing.amount_off",
            sku=line.sku,
            each=format_fen(self.amount_off),
            qty=line.qty,
            discount=format_fen(discount),
        )
        return LineAdjustment(discount=discount, message=text.zh, message_en=text.en)


class SpecialPriceLine(msgspec.Struct, frozen=True, kw_only=True):
    """Sell listed SKUs at ``unit_price`` fen (特价); never raises a line above its amount."""

    rule_id: str
    rule_version: int
    skus: frozenset[str]
    unit_price: int
    priority: int = 0
    exclusive_group: str | None = None
    stackable: bool = True
    eligibility: Eligibility = EVERYONE

    def __post_init__(self) -> None:
        if self.unit_price < 0:
            raise ValueError(f"{self.rule_id}: unit_price must be >= 0")

    def apply_line(self, line: LineView, context: PricingContext) -> LineAdjustment | None:
        """The difference between the line's amount and the special price, or ``None``."""
        if line.sku not in self.skus or not self.eligibility.admits(context.dealer, context.now):
            return None
        target = self.unit_price * line.qty
        if target >= line.amount:
            return None
        text = texts(
            "pricing.special_price",
            sku=line.sku,
            unit=format_fen(self.unit_price),
            qty=line.qty,
            amount=format_fen(line.amount),
            target=format_fen(target),
        )
        return LineAdjustment(discount=line.amount - target, message=text.zh, message_en=text.en)


class ThresholdTier(msgspec.Struct, frozen=True, kw_only=True):
    """One rung of a tiered 满减: reach ``threshold``, get ``discount`` off."""

    threshold: int
    discount: int


class TieredThreshold(msgspec.Struct, frozen=True, kw_only=True):
    """阶梯满减: the highest rung the eligible amount reaches gives its discount (once)."""

    rule_id: str
    rule_version: int
    currency: str
    tiers: tuple[ThresholdTier, ...]
    skus: frozenset[str] | None = None
    priority: int = 0
    exclusive_group: str | None = None
    stackable: bool = True
    eligibility: Eligibility = EVERYONE

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError(f"{self.rule_id}: a tiered discount needs at least one tier")
        if any(t.threshold <= 0 or t.discount < 0 for t in self.tiers):
            raise ValueError(f"{self.rule_id}: thresholds must be > 0 and discounts >= 0")

    def apply_order(self, cart: CartView, context: PricingContext) -> OrderAdjustment | None:
        """The best reached rung's discount over the eligible lines, or ``None``."""
        if self.currency != context.currency:
            raise PromotionCurrencyMismatch(
                rule=RuleRef(id=self.rule_id, version=self.rule_version),
                currency=self.currency,
                cart_currency=context.currency,
            )
        if not self.eligibility.admits(context.dealer, context.now):
            return None
        eligible = [ln for ln in cart.lines if self.skus is None or ln.sku in self.skus]
        base = sum(ln.amount for ln in eligible)
        reached = [t for t in self.tiers if base >= t.threshold]
        if not reached:
            return None
        best = max(reached, key=lambda t: (t.threshold, t.discount))
        text = texts(
            "pricing.tiered_threshold",
            threshold=format_fen(best.threshold),
            discount=format_fen(best.discount),
            base=format_fen(base),
        )
        return OrderAdjustment(
            discount=best.discount,
            lines=None if self.skus is None else frozenset(ln.line for ln in eligible),
            message=text.zh,
            message_en=text.en,
        )


class BuyXGetY(msgspec.Struct, frozen=True, kw_only=True):
    """买赠: for every ``buy_qty`` units of the listed SKUs, ``gift_qty`` of ``gift_sku`` free.

    The gift may be one of the bought SKUs (buy 10 get 1 of the same) or another SKU. With
    ``repeat`` every full multiple earns gifts, at most ``max_gifts`` units in all if set.
    """

    rule_id: str
    rule_version: int
    skus: frozenset[str]
    buy_qty: int
    gift_sku: str
    gift_qty: int
    repeat: bool = True
    max_gifts: int | None = None
    priority: int = 0
    exclusive_group: str | None = None
    stackable: bool = True
    eligibility: Eligibility = EVERYONE

    def __post_init__(self) -> None:
        if self.buy_qty < 1 or self.gift_qty < 1:
            raise ValueError(f"{self.rule_id}: buy_qty and gift_qty must be >= 1")
        if self.max_gifts is not None and self.max_gifts < 1:
            raise ValueError(f"{self.rule_id}: max_gifts must be >= 1")

    def apply_order(self, cart: CartView, context: PricingContext) -> OrderAdjustment | None:
        """The gift line earned by the bought quantity, or ``None``."""
        if not self.eligibility.admits(context.dealer, context.now):
            return None
        bought = sum(ln.qty for ln in cart.lines if ln.sku in self.skus)
        times = bought // self.buy_qty
        if not self.repeat:
            times = min(times, 1)
        gifts = times * self.gift_qty
        if self.max_gifts is not None:
            gifts = min(gifts, self.max_gifts)
        if gifts <= 0:
            return None
        capped = self.max_gifts is not None and gifts == self.max_gifts
        text = texts(
            "pricing.buy_get_capped" if capped else "pricing.buy_get",
            buy=self.buy_qty,
            gift=self.gift_qty,
            sku=self.gift_sku,
            bought=bought,
            gifts=gifts,
        )
        return OrderAdjustment(
            gifts=(GiftLine(sku=self.gift_sku, qty=gifts),), message=text.zh, message_en=text.en
        )
