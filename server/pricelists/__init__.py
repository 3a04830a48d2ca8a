"""Price lists (价目表): drafts, published versions, imports; loads ``server.pricing`` contexts.

Above promotions and the catalog, below quotes and orders. Other domains use:

    price_for_dealer(session, cache, dealer_id, lines, ...) -> PricedCart    (cart pricing)
    priced_cart_out(priced) -> PricedCartOut
    price_with_settlement(...) -> PricedCart          the same with the rebate / prepaid split
    rebate_chosen, rebate_above_cap, excluded_skus     the rebate choice and cap, for orders too
    PricingCache, load_dealer_facts                    per-process caches keyed by the revision
    SkuRule                                            a SKU's name and ordering rules, per price
    ``server.pricelists.browse``: the dealer-facing catalog with the dealer's prices
"""

from server.pricelists.cart import CartIn, PricedCartOut, price_for_dealer, priced_cart_out
from server.pricelists.loading import PricingCache, SkuRule, load_dealer_facts
from server.pricelists.settlement import (
    excluded_skus,
    price_with_settlement,
    rebate_above_cap,
    rebate_chosen,
)

__all__ = [
    "CartIn",
    "PricedCartOut",
    "PricingCache",
    "SkuRule",
    "excluded_skus",
    "load_dealer_facts",
    "price_for_dealer",
    "price_with_settlement",
    "priced_cart_out",
    "rebate_above_cap",
    "rebate_chosen",
]
