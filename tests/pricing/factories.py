"""Plain factories for pricing tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from server.pricing import (
    BreakKind,
    DealerFacts,
    LineStep,
    OrderStep,
    PriceItem,
    PriceList,
    PricingContext,
    Scope,
    SettlementOptions,
    VolumeBreak,
    index_items,
    regions_from_ancestry,
)

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def make_item(
    sku: str,
    unit_price: int = 1000,
    *,
    breaks: Sequence[tuple[int, int]] = (),
    kind: BreakKind = BreakKind.RANGE,
    pack_size: int = 1,
    whole_cases: bool = False,
    min_qty: int = 1,
) -> PriceItem:
    return PriceItem(
        sku=sku,
        unit_price=unit_price,
        breaks=tuple(VolumeBreak(min_qty=q, unit_price=p) for q, p in breaks),
        break_kind=kind,
        pack_size=pack_size,
        whole_cases=whole_cases,
        min_qty=min_qty,
    )


def make_list(
    list_id: str,
    items: Sequence[PriceItem] | dict[str, int],
    *,
    scope: Scope = Scope.DEFAULT,
    key: str | None = None,
    priority: int = 0,
    version: int = 1,
    currency: str = "CNY",
    effective_from: datetime | None = None,
    effective_to: datetime | None = None,
) -> PriceList:
    if isinstance(items, dict):
        items = [make_item(sku, price) for sku, price in items.items()]
    return PriceList(
        id=list_id,
        version=version,
        scope=scope,
        scope_key=key,
        priority=priority,
        currency=currency,
        effective_from=effective_from,
        effective_to=effective_to,
        items=index_items(items),
    )


def make_dealer(
    dealer_id: str = "D1",
    *,
    tier: str = "core",
    regions: Sequence[str] = ("330000", "330100"),
    segments: Sequence[str] = (),
) -> DealerFacts:
    return DealerFacts(
        id=dealer_id,
        tier=tier,
        regions=regions_from_ancestry(regions),
        segments=frozenset(segments),
    )


def make_context(
    price_lists: Sequence[PriceList],
    *,
    dealer: DealerFacts | None = None,
    line_steps: Sequence[LineStep] = (),
    order_steps: Sequence[OrderStep] = (),
    settlement: SettlementOptions | None = None,
    currency: str = "CNY",
    now: datetime = NOW,
) -> PricingContext:
    return PricingContext(
        dealer=dealer or make_dealer(),
        currency=currency,
        price_lists=tuple(price_lists),
        now=now,
        line_steps=tuple(line_steps),
        order_steps=tuple(order_steps),
        settlement=settlement,
    )
