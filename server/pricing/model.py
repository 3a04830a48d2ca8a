"""Pricing values: the loaded ``PricingContext`` going in, the ``PricedCart`` coming out.

Money is ``int`` fen; the currency is a code on the price list and on the cart (one currency
per cart). Times are aware UTC datetimes; effective windows are half-open
``[effective_from, effective_to)``, ``None`` meaning unbounded.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

import msgspec

from server.pricing.breaks import BreakKind, VolumeBreak, check_breaks
from server.pricing.errors import RuleRef

if TYPE_CHECKING:
    from server.pricing.steps import LineStep, OrderStep

__all__ = [
    "CartLine",
    "DealerFacts",
    "ExplanationRow",
    "OrderTotals",
    "PriceItem",
    "PriceList",
    "PricedCart",
    "PricedLine",
    "PricingBasis",
    "PricingContext",
    "RegionCode",
    "RuleRef",
    "Scope",
    "SettlementOptions",
    "SettlementSplit",
    "Step",
    "index_items",
    "regions_from_ancestry",
]


class Scope(StrEnum):
    """Who a price list is for; a more specific scope wins."""

    DEFAULT = "default"
    TIER = "tier"
    REGION = "region"
    DEALER = "dealer"


class RegionCode(msgspec.Struct, frozen=True, kw_only=True):
    """A region a dealer is authorized for; ``depth`` grows with specificity.

    E.g. province 330000 at depth 0, city 330100 at depth 1.
    """

    code: str
    depth: int


def regions_from_ancestry(*paths: Iterable[str]) -> tuple[RegionCode, ...]:
    """Region codes from ancestry paths, each ordered general to specific.

    ``regions_from_ancestry(["330000", "330100"])`` is province 330000 at depth 0 and city
    330100 at depth 1. Several paths (a dealer authorized for several cities) are merged.
    """
    depths: dict[str, int] = {}
    for path in paths:
        for depth, code in enumerate(path):
            depths[code] = max(depth, depths.get(code, depth))
    return tuple(RegionCode(code=code, depth=depth) for code, depth in depths.items())


class DealerFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What pricing needs to know about the ordering dealer."""

    id: str
    tier: str
    regions: tuple[RegionCode, ...] = ()
    segments: frozenset[str] = frozenset()


class PriceItem(msgspec.Struct, frozen=True, kw_only=True):
    """One SKU on a price list: base unit price in fen, optional volume breaks, order rules.

    ``whole_cases`` requires the quantity to be a multiple of ``pack_size``; ``min_qty`` is
    the minimum order quantity. The break table is validated on construction (and decode).
    """

    sku: str
    unit_price: int
    breaks: tuple[VolumeBreak, ...] = ()
    break_kind: BreakKind = BreakKind.RANGE
    pack_size: int = 1
    whole_cases: bool = False
    min_qty: int = 1

    def __post_init__(self) -> None:
        if self.pack_size < 1 or self.min_qty < 1:
            raise ValueError(f"{self.sku}: pack_size and min_qty must be >= 1")
        if self.unit_price < 0 or self.breaks:
            check_breaks(self.sku, self.unit_price, self.breaks)


def index_items(items: Iterable[PriceItem]) -> dict[str, PriceItem]:
    """Key price items by SKU for ``PriceList.items``; a repeated SKU is a ValueError."""
    out: dict[str, PriceItem] = {}
    for item in items:
        if item.sku in out:
            raise ValueError(f"SKU {item.sku} appears twice in one price list")
        out[item.sku] = item
    return out


class PriceList(msgspec.Struct, frozen=True, kw_only=True):
    """A scoped, prioritized, effective-dated price list (价目表).

    ``scope_key`` is ``None`` for ``default``, the tier name for ``tier``, a region code for
    ``region`` and the dealer id for ``dealer``. ``items`` is keyed by SKU (see
    ``index_items``).
    """

    id: str
    version: int
    scope: Scope
    scope_key: str | None = None
    priority: int = 0
    currency: str
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    items: dict[str, PriceItem]

    def __post_init__(self) -> None:
        if (self.scope is Scope.DEFAULT) != (self.scope_key is None):
            raise ValueError(
                f"price list {self.id}: scope_key must be None exactly for the default scope"
            )

    @property
    def ref(self) -> RuleRef:
        """This list's id and version."""
        return RuleRef(id=self.id, version=self.version)


class SettlementOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Payment sources the dealer may use: rebate up to a cap, then prepaid.

    Rebate pays at most ``rebate_cap_bp`` of the eligible amount: the payable of the lines
    whose SKU is not in ``rebate_excluded_skus`` and, with ``rebate_excludes_promoted``, that
    no promotion touched (see ``rebate_basis``). ``rebate_requested`` is the amount the dealer
    chose (None: as much as allowed). ``rebate_excluded_categories`` only names the excluded
    categories in the explanation.
    """

    rebate_balance: int = 0
    rebate_cap_bp: int = 0
    prepaid_balance: int = 0
    use_rebate: bool = True
    use_prepaid: bool = True
    rule: RuleRef | None = None
    rebate_excluded_skus: frozenset[str] = frozenset()
    rebate_excluded_categories: tuple[str, ...] = ()
    rebate_excludes_promoted: bool = False
    rebate_requested: int | None = None


class CartLine(msgspec.Struct, frozen=True, kw_only=True):
    """One requested line: a SKU and a quantity."""

    sku: str
    qty: int


class PricingContext(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the pipeline reads, loaded beforehand; pricing itself does no I/O.

    ``price_lists`` are the candidates (the pipeline filters by scope, currency and ``now``);
    ``line_steps`` / ``order_steps`` are the promotions as step objects. Built in code by
    the loader, not decoded from JSON (the step fields are protocols).
    """

    dealer: DealerFacts
    currency: str
    price_lists: tuple[PriceList, ...]
    now: datetime
    line_steps: tuple[LineStep, ...] = ()
    order_steps: tuple[OrderStep, ...] = ()
    settlement: SettlementOptions | None = None


class Step(StrEnum):
    """Pipeline steps, in the order they run."""

    LIST_PRICE = "list_price"
    VOLUME_BREAK = "volume_break"
    LINE_PROMOTION = "line_promotion"
    ORDER_PROMOTION = "order_promotion"
    GIFT = "gift"
    SETTLEMENT = "settlement"


class ExplanationRow(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded step: what rule turned which amount into which.

    ``line`` is ``None`` for order-level rows. ``rounding_adjustment`` is
    ``output_amount - exact output`` in fen. ``reason`` is a machine code: ``applied``,
    ``capped``, ``not_reached``, ``skipped_exclusive_group``, ``skipped_not_stackable``; for
    rebate also ``not_chosen`` (the dealer does not use it) and ``not_allowed`` (the tier's
    cap is 0).
    ``message`` (zh-CN) and ``message_en`` (English) say the same to a person; their texts
    are the ``pricing.*`` entries of ``server.catalogue``.
    """

    step: Step
    rule_id: str | None
    rule_version: int | None
    line: int | None
    sku: str | None
    input_amount: int
    output_amount: int
    rounding_adjustment: Decimal
    message: str
    message_en: str
    applied: bool = True
    reason: str = "applied"


class PricedLine(msgspec.Struct, frozen=True, kw_only=True):
    """One priced line. ``line`` is the request index; gift lines follow the request lines.

    ``amount_before_discounts`` is after volume breaks; ``amount`` is what the dealer pays
    for the line, ``amount_before_discounts - discount``.
    """

    line: int
    sku: str
    qty: int
    list_unit_price: int
    unit_price: int
    list_amount: int
    amount_before_discounts: int
    discount: int
    amount: int
    gift: bool = False
    price_list: RuleRef | None = None
    promotions: tuple[RuleRef, ...] = ()


class OrderTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Cart totals; each is the sum of the same field over the lines."""

    list_amount: int
    goods_amount: int
    discount: int
    payable: int


class SettlementSplit(msgspec.Struct, frozen=True, kw_only=True):
    """How the payable is paid: ``rebate + prepaid + remaining == payable``.

    ``rebate_cap`` is the most rebate could pay (``rebate_cap_bp`` of ``rebate_basis``, the
    eligible amount, rounded down; 0 when the dealer does not use rebate).
    """

    rebate: int
    prepaid: int
    remaining: int
    rebate_cap: int = 0
    rebate_basis: int = 0


class PricingBasis(msgspec.Struct, frozen=True, kw_only=True):
    """The price lists and rules that shaped the result; quotes and orders pin it."""

    price_lists: tuple[RuleRef, ...]
    rules: tuple[RuleRef, ...]
    fingerprint: str


class PricedCart(msgspec.Struct, frozen=True, kw_only=True):
    """The pipeline's answer."""

    currency: str
    lines: tuple[PricedLine, ...]
    totals: OrderTotals
    settlement: SettlementSplit
    explanation: tuple[ExplanationRow, ...]
    basis: PricingBasis
    priced_at: datetime
