"""Extension points for promotions: ``LineStep`` and ``OrderStep``.

A promotion is a step object. Every step exposes ``rule_id``, ``rule_version``,
``priority``, ``exclusive_group`` (``None``: no group) and ``stackable``. The pipeline runs
all line steps, then all order steps, each phase in the order ``(-priority, rule_id)``.

- A ``LineStep`` sees one priced line at a time and returns a ``LineAdjustment`` (a
  discount in fen, capped by the pipeline at the line's current amount) or ``None``. A
  line step that holds a ``skus`` frozenset applies to those SKUs only (``None`` for every
  other line): the pipeline then shows it only the lines of those SKUs (``step_skus``).
- An ``OrderStep`` sees the cart (``CartView``) and returns an ``OrderAdjustment``: an
  order-level discount the pipeline allocates over the lines (all of the view's lines, or
  only ``lines``), and/or gift lines (买赠: unit price 0, pointing at the promotion).

Exclusivity and stacking (applied by the pipeline, see ``pipeline``):

- **Exclusive group: first applicable wins.** For line steps, per line: once a step of
  group G has applied to a line, later steps of G skip that line. For order steps, per
  cart: an order step of group G is skipped if any step of G applied anywhere.
- **Not stackable: not combined with other promotions.** A non-stackable line step skips a
  line that already has a promotion, and once applied it locks the line: no later step
  (line or order) touches it. A non-stackable order step is skipped if an order step
  already applied, only sees lines without any promotion, and once applied ends the
  order phase.

Steps should be cheap and pure; they may raise ``PricingError`` for misconfiguration.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol, cast

import msgspec

from server.pricing.errors import RuleRef
from server.pricing.model import PricingContext
from server.pricing.money import ZERO_ADJUSTMENT


class LineView(Protocol):
    """Read-only view of a priced line while the pipeline runs."""

    @property
    def line(self) -> int: ...
    @property
    def sku(self) -> str: ...
    @property
    def qty(self) -> int: ...
    @property
    def list_unit_price(self) -> int: ...
    @property
    def unit_price(self) -> int:
        """Unit price after volume breaks (average for slab breaks)."""
        ...

    @property
    def amount_before_discounts(self) -> int: ...
    @property
    def amount(self) -> int:
        """Current amount, after the discounts applied so far."""
        ...

    @property
    def promotions(self) -> Sequence[RuleRef]:
        """Promotions applied to this line so far."""
        ...


class CartView(msgspec.Struct, frozen=True, kw_only=True):
    """The lines an order step may act on (never gift lines) and their current total."""

    lines: tuple[LineView, ...]
    amount: int


class LineAdjustment(msgspec.Struct, frozen=True, kw_only=True):
    """A line step's result: take ``discount`` fen off the line (``message`` zh-CN, ``message_en``)."""

    discount: int
    message: str
    message_en: str
    rounding_adjustment: Decimal = ZERO_ADJUSTMENT


class GiftLine(msgspec.Struct, frozen=True, kw_only=True):
    """A free line added by an order step (unit price 0)."""

    sku: str
    qty: int


class OrderAdjustment(msgspec.Struct, frozen=True, kw_only=True):
    """An order step's result.

    ``discount`` is spread over ``lines`` (request indexes; ``None``: every line of the
    view) proportionally to their current amounts. ``gifts`` are appended as free lines.
    ``message`` (zh-CN) and ``message_en`` (English) describe it to a person.
    """

    message: str
    message_en: str
    discount: int = 0
    lines: frozenset[int] | None = None
    gifts: tuple[GiftLine, ...] = ()


class PromotionStep(Protocol):
    """What every step exposes to the pipeline."""

    @property
    def rule_id(self) -> str: ...
    @property
    def rule_version(self) -> int: ...
    @property
    def priority(self) -> int: ...
    @property
    def exclusive_group(self) -> str | None: ...
    @property
    def stackable(self) -> bool: ...


class LineStep(PromotionStep, Protocol):
    """A promotion acting on one line at a time."""

    def apply_line(self, line: LineView, context: PricingContext) -> LineAdjustment | None:
        """The discount for this line, or ``None`` when the promotion does not apply."""
        ...


class OrderStep(PromotionStep, Protocol):
    """A promotion acting on the whole cart."""

    def apply_order(self, cart: CartView, context: PricingContext) -> OrderAdjustment | None:
        """The order discount and/or gifts, or ``None`` when the promotion does not apply."""
        ...


def step_ref(step: PromotionStep) -> RuleRef:
    """A step's id and version."""
    return RuleRef(id=step.rule_id, version=step.rule_version)


def step_skus(step: LineStep) -> frozenset[str] | None:
    """The only SKUs a line step can apply to, or ``None`` when it may apply to any line."""
    skus: object = getattr(step, "skus", None)
    return cast("frozenset[str]", skus) if isinstance(skus, frozenset) else None


def step_order(step: PromotionStep) -> tuple[int, str]:
    """Sort key: priority descending, then rule id."""
    return (-step.priority, step.rule_id)
