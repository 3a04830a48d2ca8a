"""In-process benchmark of the pricing pipeline: p50 time to price one cart.

    python -m load_tests.pricing_cart_bench            # {"cart_lines":50,"cart_p50_ms":...}
    python -m load_tests.pricing_cart_bench --lines 200 --promotions 8

The context is built once (as a request handler would after loading it); only
``price_cart`` is timed. Budget: p50 <= 2 ms for 50 lines and a handful of promotions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime

from server.pricing import (
    BreakKind,
    CartLine,
    DealerFacts,
    LineStep,
    OrderStep,
    PercentOffLine,
    PriceItem,
    PriceList,
    PricingContext,
    Scope,
    SettlementOptions,
    ThresholdDiscount,
    VolumeBreak,
    index_items,
    price_cart,
    regions_from_ancestry,
)

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def _item(n: int) -> PriceItem:
    base = 1_000 + 37 * n
    if n % 3 == 0:
        return PriceItem(sku=f"SKU-{n:04d}", unit_price=base)
    breaks = (
        VolumeBreak(min_qty=10, unit_price=base * 95 // 100),
        VolumeBreak(min_qty=50, unit_price=base * 90 // 100),
    )
    kind = BreakKind.SLAB if n % 3 == 1 else BreakKind.RANGE
    return PriceItem(sku=f"SKU-{n:04d}", unit_price=base, breaks=breaks, break_kind=kind)


def build_context(lines: int, promotions: int) -> PricingContext:
    """A realistic context: four scoped lists over ``lines`` SKUs and ``promotions`` steps."""
    items = [_item(n) for n in range(lines)]
    lists = (
        PriceList(id="PL-DEFAULT", version=3, scope=Scope.DEFAULT, currency="CNY",
                  items=index_items(items)),
        PriceList(id="PL-CORE", version=2, scope=Scope.TIER, scope_key="core", currency="CNY",
                  items=index_items(i for n, i in enumerate(items) if n % 2 == 0)),
        PriceList(id="PL-ZJ", version=5, scope=Scope.REGION, scope_key="330000",
                  currency="CNY", items=index_items(i for n, i in enumerate(items) if n % 5 == 0)),
        PriceList(id="PL-D1", version=1, scope=Scope.DEALER, scope_key="D1", currency="CNY",
                  items=index_items(items[:3])),
    )  # fmt: skip
    skus = [item.sku for item in items]
    line_steps: list[LineStep] = []
    order_steps: list[OrderStep] = []
    for k in range(promotions):
        if k % 2 == 0:
            line_steps.append(
                PercentOffLine(
                    rule_id=f"PCT-{k}",
                    rule_version=1,
                    skus=frozenset(skus[k % 4 :: 4]),
                    percent_off_bp=500 + 100 * k,
                    priority=k,
                    exclusive_group="spring" if k % 4 == 0 else None,
                )
            )
        else:
            order_steps.append(
                ThresholdDiscount(
                    rule_id=f"MJ-{k}",
                    rule_version=1,
                    currency="CNY",
                    threshold=100_000,
                    discount=5_000 + k,
                    repeat=True,
                    priority=k,
                )
            )
    return PricingContext(
        dealer=DealerFacts(
            id="D1",
            tier="core",
            regions=regions_from_ancestry(["330000", "330100"]),
            segments=frozenset({"vip"}),
        ),
        currency="CNY",
        price_lists=lists,
        now=NOW,
        line_steps=tuple(line_steps),
        order_steps=tuple(order_steps),
        settlement=SettlementOptions(
            rebate_balance=50_000, rebate_cap_bp=1_000, prepaid_balance=200_000
        ),
    )


def measure_cart_p50_ms(lines: int = 50, promotions: int = 4, rounds: int = 400) -> float:
    """Median wall time in ms of ``price_cart`` on a ``lines``-line cart."""
    context = build_context(lines, promotions)
    cart = [CartLine(sku=f"SKU-{n:04d}", qty=1 + (n * 7) % 60) for n in range(lines)]
    for _ in range(20):
        price_cart(context, cart)
    samples: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        price_cart(context, cart)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(samples)


def main() -> None:
    """Print the cart p50 as one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--promotions", type=int, default=4)
    args = parser.parse_args()
    p50 = measure_cart_p50_ms(lines=args.lines, promotions=args.promotions)
    print(
        json.dumps({"cart_lines": args.lines, "cart_p50_ms": round(p50, 3)}, separators=(",", ":"))
    )


if __name__ == "__main__":
    main()
