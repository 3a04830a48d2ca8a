from __future__ import annotations

from load_tests.pricing_cart_bench import build_context
from server.pricing import CartLine, price_cart


def test_bench_context_prices_with_every_stage() -> None:
    context = build_context(50, 4)
    cart = [CartLine(sku=f"SKU-{n:04d}", qty=1 + (n * 7) % 60) for n in range(50)]
    priced = price_cart(context, cart)
    assert len(priced.lines) == 50
    assert {ref.id for ref in priced.basis.price_lists} == {
        "PL-DEFAULT",
        "PL-CORE",
        "PL-ZJ",
        "PL-D1",
    }
    assert priced.totals.discount > 0
    assert priced.settlement.rebate > 0
