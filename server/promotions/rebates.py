"""返利 accrual: live ``rebate`` promotions credit a share of eligible order amounts.

The orders domain calls ``accrue_rebates`` at each shipment, with the value shipped by SKU
(``shipment_amounts``) and the shipment's reference ``{order id}/{shipment number}``; each
promotion credits the dealer's rebate account once per reference (key
``rebate:{promotion}:{reference}``) and consumes its budget under the same key, so a retried
shipment accrues nothing twice.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import credit_rebate
from server.dealers import dealer_pricing_facts
from server.messages import stored
from server.pricing.money import percent_of
from server.promotions.budgets import BudgetExhausted, consume_budget
from server.promotions.models import Promotion, PromotionStatus
from server.promotions.schemas import RebateShare
from server.promotions.service import eligibility_of, mechanic_of, promotion_skus


def shipment_amounts(lines: Iterable[Any], quantities: Mapping[int, int]) -> dict[str, int]:
    """Fen shipped now by SKU, from order lines (``line``, ``sku_code``, ``qty``, ``amount``,
    ``shipped`` including this shipment) and this shipment's quantity by line number: each
    line's amount pro rata, rounded down on the running total as funds are captured, so the
    shipments of a line sum to its amount."""
    out: dict[str, int] = {}
    for ln in lines:
        now = quantities.get(ln.line, 0)
        if now <= 0 or ln.qty <= 0:
            continue
        value = ln.amount * ln.shipped // ln.qty - ln.amount * (ln.shipped - now) // ln.qty
        out[ln.sku_code] = out.get(ln.sku_code, 0) + value
    return out


async def accrue_rebates(
    session: AsyncSession,
    dealer_id: uuid.UUID,
    order_reference: str,
    amounts: Mapping[str, int],
    now: datetime,
) -> dict[str, int]:
    """Credit every live rebate promotion's share of ``amounts`` (fen by SKU); code -> fen."""
    facts = await dealer_pricing_facts(session, dealer_id)
    rows = (
        await session.execute(
            select(Promotion).where(
                Promotion.status == PromotionStatus.PUBLISHED, Promotion.kind == "rebate"
            )
        )
    ).scalars()
    accrued: dict[str, int] = {}
    for p in rows:
        m = mechanic_of(p)
        if not isinstance(m, RebateShare) or not eligibility_of(p).admits(facts, now):
            continue
        skus = await promotion_skus(session, p)
        base = sum(a for sku, a in amounts.items() if not skus or sku in skus)
        share, _ = percent_of(base, m.share_bp)
        if share <= 0:
            continue
        key = f"rebate:{p.code}:{order_reference}"
        if len(key) > 64:  # the ledger's idempotency keys are at most 64 characters
            key = "rebate:" + hashlib.sha256(key.encode()).hexdigest()[:56]
        try:
            async with session.begin_nested():
                await consume_budget(session, p, dealer_id, amount=share, key=key)
                await credit_rebate(
                    session,
                    dealer_id,
                    share,
                    key=key,
                    reference=order_reference,
                    reason=stored("ledger.rebate_accrual", code=p.code),
                )
        except BudgetExhausted:
            continue
        accrued[p.code] = share
    return accrued
