"""The cart's settlement as the dealer would pay it: rebate within its tier's cap, prepaid.

A dealer's rebate choice (``useRebate``: null means its default; ``rebateAmount``: an exact
amount) is checked here for both the cart preview and order placement, and the SKUs of the
tier's excluded categories are found here, so the settlement a cart shows and the hold an
order takes use one cap (``server.pricing.rebate_basis`` / ``rebate_cap``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import dealer_balances
from server.catalog import sku_codes_in_categories
from server.dealers import RebateTerms, rebate_terms
from server.errors import Invalid
from server.pricelists.cart import price_for_dealer
from server.pricelists.loading import PricingCache, SkuRule
from server.pricing import CartLine, PricedCart, SettlementOptions


def rebate_chosen(terms: RebateTerms, use_rebate: bool | None, amount: int | None) -> bool:
    """Whether rebate pays (None: the dealer's default); 422 for a choice that cannot be
    honoured: an amount with ``useRebate: false`` (``rebate_choice_conflict``), or asking
    for rebate when the tier allows none (``rebate_not_allowed``)."""
    if amount is not None and use_rebate is False:
        raise Invalid(
            "rebate_choice_conflict",
            "选择了不使用返利，却指定了返利抵扣金额",
            "rebateAmount is given but useRebate is false",
            errors=[
                {
                    "key": "rebateAmount",
                    "message": "已选择不使用返利",
                    "message_en": "contradicts useRebate=false",
                }
            ],
        )
    asked = use_rebate is True or amount is not None
    if asked and terms.cap_bp == 0:
        raise Invalid(
            "rebate_not_allowed",
            "您所在等级的订单不能用返利抵扣",
            "Orders of this dealer's tier cannot be paid with rebate",
        )
    return use_rebate if use_rebate is not None else asked or terms.uses_rebate


def rebate_above_cap(wanted: int, cap: int) -> Invalid:
    """422 ``rebate_above_cap``: the amount chosen is more than the order's cap."""
    return Invalid(
        "rebate_above_cap",
        f"返利抵扣金额超过本单上限（最多 {cap} 分）",
        f"The rebate chosen is above this order's cap (at most {cap} fen)",
        errors=[
            {
                "key": "rebateAmount",
                "message": f"收到 {wanted}，上限 {cap}",
                "message_en": f"got {wanted}, cap {cap}",
            }
        ],
        rebate=wanted,
        cap=cap,
    )


async def excluded_skus(
    session: AsyncSession, terms: RebateTerms, skus: Iterable[str]
) -> frozenset[str]:
    """Which of these SKUs lie in the tier's excluded categories (or their sub-categories)."""
    if not terms.excluded_categories:
        return frozenset()
    return frozenset(
        await sku_codes_in_categories(session, terms.excluded_categories, among=set(skus))
    )


async def price_with_settlement(
    session: AsyncSession,
    cache: PricingCache,
    dealer_id: uuid.UUID,
    *,
    currency: str,
    now: datetime,
    lines: list[CartLine],
    use_rebate: bool | None = None,
    rebate_amount: int | None = None,
) -> tuple[PricedCart, dict[str, SkuRule]]:
    """``price_for_dealer`` with the settlement the dealer would get: its rebate (within the
    cap, as chosen) and prepaid balances; 422 ``rebate_above_cap`` for an amount above it."""
    terms = await rebate_terms(session, dealer_id)
    use = rebate_chosen(terms, use_rebate, rebate_amount)
    balances = await dealer_balances(session, dealer_id)
    options = SettlementOptions(
        rebate_balance=max(balances.rebate, 0),
        rebate_cap_bp=terms.cap_bp,
        prepaid_balance=max(balances.prepaid, 0),
        use_rebate=use,
        rebate_excluded_skus=await excluded_skus(session, terms, (ln.sku for ln in lines))
        if use
        else frozenset(),
        rebate_excluded_categories=terms.excluded_categories,
        rebate_excludes_promoted=terms.excludes_promoted,
        rebate_requested=rebate_amount,
    )
    priced, rules = await price_for_dealer(
        session, cache, dealer_id, currency=currency, now=now, lines=lines, settlement=options
    )
    if rebate_amount is not None and rebate_amount > priced.settlement.rebate_cap:
        raise rebate_above_cap(rebate_amount, priced.settlement.rebate_cap)
    return priced, rules
