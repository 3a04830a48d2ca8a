"""Dealers (经销商) and tiers: accounts that order, their regions, tier and parent dealer.

Other domains use (never the models):

    dealer_standing(session, dealer_id) -> bool | None     may its users sign in
    get_dealer(session, dealer_id) -> Dealer               or 404
    open_dealer(session, dealer_id) -> Dealer | None       unless closed
    open_dealer_ids(session, tier_code) -> [id]            the tier's dealers not closed
    get_tier(session, code) -> DealerTier                  or 404
    tier_codes(session) -> [code]                          by rank
    known_dealer_ids(session, ids) -> {id}                 those naming a dealer not closed
    dealer_labels(session, ids) -> {id: (code, name)}
    tier_requires_prepayment(session, code) -> bool
    dealer_pricing_facts(executor, dealer_id) -> DealerFacts
    active_dealer_pricing_facts(executor) -> [DealerFacts]   every active dealer's, by code
    address_region(session, dealer_id, address_id) -> str | None   a ship-to's region
    standing_select(leading, trailing)                    the order gate's dealer columns
    rebate_terms(session, dealer_id) -> RebateTerms       tier's rebate cap, default choice
    rebate_terms_of(row) -> RebateTerms                   from standing_select's rebate columns
"""

from server.dealers.models import DealerStatus
from server.dealers.read import (
    RebateTerms,
    address_region,
    dealer_standing,
    get_dealer,
    get_tier,
    known_dealer_ids,
    open_dealer,
    open_dealer_ids,
    rebate_terms,
    rebate_terms_of,
    standing_select,
    tier_codes,
    tier_requires_prepayment,
)
from server.dealers.service import (
    active_dealer_pricing_facts,
    dealer_labels,
    dealer_out,
    dealer_pricing_facts,
)

__all__ = [
    "DealerStatus",
    "RebateTerms",
    "active_dealer_pricing_facts",
    "address_region",
    "dealer_labels",
    "dealer_out",
    "dealer_pricing_facts",
    "dealer_standing",
    "get_dealer",
    "get_tier",
    "known_dealer_ids",
    "open_dealer",
    "open_dealer_ids",
    "rebate_terms",
    "rebate_terms_of",
    "standing_select",
    "tier_codes",
    "tier_requires_prepayment",
]
