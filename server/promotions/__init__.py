"""Promotions (促销政策): mechanics, eligibility, windows, budgets, pilots.

Other domains use:

    live_promotion_steps(executor, currency) -> PromotionSteps   (pricing loader)
    claimable_promotions(session, dealer_facts, now) -> [Promotion]
    consume_budget(session, promotion, dealer_id, amount=, count=, key=) -> bool
    release_budget(session, key) -> bool
    consume_order_budgets(session, directory, dealer_id, order_id, uses)  (at placement)
    release_order_budgets(session, dealer_id, order_id) -> int            (cancel / reject)
    promotion_uses(priced_cart) / snapshot_promotion_uses(snapshot) -> {code: fen}
    accrue_rebates(session, dealer_id, order_reference, amounts_by_sku, now) -> {code: fen}
    shipment_amounts(order_lines, quantities_by_line) -> {sku: fen}       (at shipment)
    pilot_report(session, promotion, order_activity) -> PilotReportOut
    pilot_groups(session, promotion) -> (test dealer ids, control dealer ids)
    pilot_timeline(session, promotion, order_activity, now) -> [PilotPointOut]
    pilot_summary(session, promotion, order_activity, now) -> PilotSummary  (groups, report,
        timeline; reused for a few minutes)
        (``order_activity`` is the orders domain's reader of ``OrderActivity`` rows)
"""

from server.promotions.budgets import BudgetExhausted, consume_budget, release_budget
from server.promotions.models import Promotion, PromotionStatus
from server.promotions.order_budgets import (
    BudgetDirectory,
    consume_order_budgets,
    promotion_uses,
    release_order_budgets,
    snapshot_promotion_uses,
)
from server.promotions.pilots import (
    SUMMARY_SECONDS,
    ActivityReader,
    OrderActivity,
    PilotSummary,
    pilot_groups,
    pilot_report,
    pilot_summary,
    pilot_timeline,
)
from server.promotions.rebates import accrue_rebates, shipment_amounts
from server.promotions.schemas import CLAIMABLE_KINDS, DisplayFee, SellOut
from server.promotions.service import (
    PromotionSteps,
    claimable_promotions,
    eligibility_of,
    get_promotion,
    is_claimable,
    live_promotion_steps,
    mechanic_of,
    promotion_out,
    promotion_skus,
)

__all__ = [
    "CLAIMABLE_KINDS",
    "SUMMARY_SECONDS",
    "ActivityReader",
    "BudgetDirectory",
    "BudgetExhausted",
    "DisplayFee",
    "OrderActivity",
    "PilotSummary",
    "Promotion",
    "PromotionStatus",
    "PromotionSteps",
    "SellOut",
    "accrue_rebates",
    "claimable_promotions",
    "consume_budget",
    "consume_order_budgets",
    "eligibility_of",
    "get_promotion",
    "is_claimable",
    "live_promotion_steps",
    "mechanic_of",
    "pilot_groups",
    "pilot_report",
    "pilot_summary",
    "pilot_timeline",
    "promotion_out",
    "promotion_skus",
    "promotion_uses",
    "release_budget",
    "release_order_budgets",
    "shipment_amounts",
    "snapshot_promotion_uses",
]
