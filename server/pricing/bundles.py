"""CPQ shapes that stay pure: fixed bundles (a pricing step) and configurable products.

``FixedBundle`` is an ``OrderStep``: when the cart holds every component in its quantity,
each complete set is priced at ``bundle_price``; the difference to the components' unit
prices (after volume breaks) is an order discount spread over the component lines, so it
is explained and allocated like any other order promotion. A bundle dearer than its parts
gives nothing (a step never raises a price).

``ConfigurableProduct`` holds option groups (each with ``min``/``max`` choices) and
``requires`` / ``excludes`` constraints between options; ``configure`` turns a selection
into cart lines or raises ``ConfigurationInvalid`` naming every violated constraint.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from server.messages import texts
from server.pricing.errors import PromotionCurrencyMismatch, RuleRef
from server.pricing.model import CartLine, PricingContext
from server.pricing.money import format_fen
from server.pricing.steps import CartView, LineView, OrderAdjustment


class BundleComponent(msgspec.Struct, frozen=True, kw_only=True):
    """One SKU of a bundle and its quantity per set."""

    sku: str
    qty: int


class FixedBundle(msgspec.Struct, frozen=True, kw_only=True):
    """A fixed bundle (套装): ``components`` at ``bundle_price`` fen per complete set."""

    rule_id: str
    rule_version: int
    currency: str
    bundle_price: int
    components: tuple[BundleComponent, ...]
    name: str = ""
    priority: int = 0
    exclusive_group: str | None = None
    stackable: bool = True

    def __post_init__(self) -> None:
        if not self.components or self.bundle_price < 0:
            raise ValueError(f"{self.rule_id}: a bundle needs components and a price >= 0")
        if any(c.qty < 1 for c in self.components):
            raise ValueError(f"{self.rule_id}: component quantities must be >= 1")
        if len({c.sku for c in self.components}) != len(self.components):
            raise ValueError(f"{self.rule_id}: a SKU appears twice in the bundle")

    def apply_order(self, cart: CartView, context: PricingContext) -> OrderAdjustment | None:
        """The bundle discount for every complete set in the cart, or ``None``."""
        if self.currency != context.currency:
            raise PromotionCurrencyMismatch(
                rule=RuleRef(id=self.rule_id, version=self.rule_version),
                currency=self.currency,
                cart_currency=context.currency,
            )
        by_sku: dict[str, LineView] = {line.sku: line for line in cart.lines}
        sets = min((by_sku[c.sku].qty // c.qty if c.sku in by_sku else 0) for c in self.components)
        if sets <= 0:
            return None
        per_set = sum(by_sku[c.sku].unit_price * c.qty for c in self.components)
        saving = per_set - self.bundle_price
        if saving <= 0:
            return None
        discount = sets * saving
        # The name is HQ's words (often Chinese); English readers get the bundle's code.
        text = texts(
            "pricing.bundle",
            bundle=self.name or self.rule_id,
            bundle_code=self.rule_id,
            sets=sets,
            price=format_fen(self.bundle_price),
            parts=format_fen(per_set),
            discount=format_fen(discount),
        )
        return OrderAdjustment(
            discount=discount,
            lines=frozenset(by_sku[c.sku].line for c in self.components),
            message=text.zh,
            message_en=text.en,
        )


class ConfigOption(msgspec.Struct, frozen=True, kw_only=True):
    """A choosable option: adds ``qty`` of ``sku`` per configured unit."""

    code: str
    sku: str
    qty: int = 1


class OptionGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Options of one kind; between ``min`` and ``max`` of them must be chosen."""

    code: str
    name: str
    min: int = 0
    max: int = 1
    options: tuple[ConfigOption, ...] = ()


class Constraint(msgspec.Struct, frozen=True, kw_only=True):
    """``kind`` is ``requires`` (choosing ``option`` needs ``other``) or ``excludes``."""

    kind: str
    option: str
    other: str


class Violation(msgspec.Struct, frozen=True, kw_only=True):
    """One violated rule: ``constraint`` names it (``group:CODE:min``, ``A requires B``...).

    ``message`` is zh-CN, ``message_en`` English (the ``cpq.*`` entries of the catalogue).
    """

    code: str
    constraint: str
    message: str
    message_en: str


def _violation(code: str, constraint: str, **params: object) -> Violation:
    words = texts(f"cpq.{code}", **params)
    return Violation(code=code, constraint=constraint, message=words.zh, message_en=words.en)


class ConfigurationInvalid(ValueError):
    """A selection violates the product's rules; ``violations`` names each one."""

    code = "configuration_invalid"

    def __init__(self, violations: Sequence[Violation]) -> None:
        super().__init__("; ".join(v.constraint for v in violations))
        self.violations = tuple(violations)


class ConfigurableProduct(msgspec.Struct, frozen=True, kw_only=True):
    """A product assembled from options (e.g. a gift box: choose 2-3 flavours, no ...)."""

    code: str
    name: str
    groups: tuple[OptionGroup, ...]
    constraints: tuple[Constraint, ...] = ()
    base: tuple[BundleComponent, ...] = ()

    def options(self) -> dict[str, ConfigOption]:
        """Every option by code."""
        return {o.code: o for g in self.groups for o in g.options}

    def check_definition(self) -> list[Violation]:
        """Problems of the definition itself (unknown codes, impossible ranges)."""
        problems: list[Violation] = []
        known = self.options()
        if len(known) != sum(len(g.options) for g in self.groups):
            problems.append(_violation("option_code_repeated", "options:unique"))
        for group in self.groups:
            if not 0 <= group.min <= group.max or group.min > len(group.options):
                problems.append(
                    _violation("group_range_invalid", f"group:{group.code}", group_code=group.code)
                )
        for rule in self.constraints:
            if rule.kind not in ("requires", "excludes"):
                problems.append(
                    _violation("constraint_kind_unknown", f"kind:{rule.kind}", kind=rule.kind)
                )
            for code in (rule.option, rule.other):
                if code not in known:
                    problems.append(
                        _violation("constraint_option_unknown", f"option:{code}", option=code)
                    )
        return problems

    def configure(self, selected: Sequence[str], units: int = 1) -> tuple[CartLine, ...]:
        """Cart lines for ``units`` of this configuration; raises ``ConfigurationInvalid``.

        Why long: it checks every rule of the configuration (unknown, repeated, group minimum
        and maximum, requires, excludes) and reports all violations at once, so the dealer fixes
        them in one go.
        """
        known = self.options()
        chosen = set(selected)
        violations: list[Violation] = [
            _violation("option_unknown", f"option:{code}", option=code)
            for code in sorted(chosen - known.keys())
        ]
        if len(chosen) != len(selected):
            violations.append(_violation("option_repeated", "options:unique"))
        for group in self.groups:
            count = sum(1 for o in group.options if o.code in chosen)
            # The group's name is HQ's words (often Chinese); English readers get its code.
            names = {"group": group.name or group.code, "group_code": group.code, "count": count}
            if count < group.min:
                violations.append(
                    _violation(
                        "group_min", f"group:{group.code}:min={group.min}", limit=group.min, **names
                    )
                )
            if count > group.max:
                violations.append(
                    _violation(
                        "group_max", f"group:{group.code}:max={group.max}", limit=group.max, **names
                    )
                )
        for rule in self.constraints:
            if rule.option not in chosen:
                continue
            pair = {"option": rule.option, "other": rule.other}
            if rule.kind == "requires" and rule.other not in chosen:
                violations.append(
                    _violation("requires", f"{rule.option} requires {rule.other}", **pair)
                )
            if rule.kind == "excludes" and rule.other in chosen:
                violations.append(
                    _violation("excludes", f"{rule.option} excludes {rule.other}", **pair)
                )
        if units < 1:
            violations.append(_violation("units_not_positive", "units>=1"))
        if violations:
            raise ConfigurationInvalid(violations)
        totals: dict[str, int] = {}
        for part in self.base:
            totals[part.sku] = totals.get(part.sku, 0) + part.qty * units
        for code in selected:
            option = known[code]
            totals[option.sku] = totals.get(option.sku, 0) + option.qty * units
        return tuple(CartLine(sku=sku, qty=qty) for sku, qty in sorted(totals.items()))
