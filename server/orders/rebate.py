"""How much rebate an order may spend (返利抵扣), and the order its funds are held in.

The dealer chooses per order (``useRebate``; none: the dealer's default, ``usesRebate``) and
may name an amount (``rebateAmount``). The tier's cap is ``rebate_cap_bp`` of the eligible
goods amount: the payable of the lines not in an excluded category and, when the tier
excludes them, not touched by a promotion (``server.pricing.rebate_basis``, the same sum
the cart's settlement shows). Funds are held rebate first (up to that cap), then prepaid,
then credit: rebate can only ever pay orders, and only part of each, so spending it first
keeps prepaid and credit free for what rebate cannot pay; a dealer who would rather keep
its rebate says ``useRebate: false``.
"""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import note_rebate_terms
from server.dealers import RebateTerms
from server.orders.pricing import Priced
from server.orders.schemas import OrderCreate
from server.pricelists import excluded_skus, rebate_above_cap, rebate_chosen
from server.pricing import rebate_basis, rebate_cap

PREPAID_ONLY = ("prepaid",)
ALL_SOURCES = ("prepaid", "credit")


class RebateUse(msgspec.Struct, frozen=True, kw_only=True):
    """The most rebate the order's hold may take (fen); ``exact``: all of it or refuse."""

    cap: int = 0
    exact: bool = False


NO_REBATE = RebateUse()


def fund_sources(requires_prepayment: bool, use: RebateUse) -> tuple[str, ...]:
    """The accounts that pay the order, in order: rebate (when it may pay), prepaid, credit
    (not for tiers that must prepay)."""
    others = PREPAID_ONLY if requires_prepayment else ALL_SOURCES
    return ("rebate", *others) if use.cap > 0 else others


async def rebate_use(
    session: AsyncSession,
    dealer_id: uuid.UUID,
    terms: RebateTerms,
    body: OrderCreate,
    priced: Priced,
) -> RebateUse:
    """The rebate the order's hold may take: its cap, or the amount the dealer chose (422
    ``rebate_above_cap`` above the cap). Reads only; call it before anything is written.
    The terms are noted for the balances this transaction publishes."""
    note_rebate_terms(session, dealer_id, terms)
    chosen = rebate_chosen(terms, body.use_rebate, body.rebate_amount)
    if not chosen or terms.cap_bp == 0 or priced.amount <= 0:
        if body.rebate_amount is not None:
            raise rebate_above_cap(body.rebate_amount, 0)
        return NO_REBATE
    lines = priced.rebate_lines()
    excluded = await excluded_skus(session, terms, (sku for sku, _, _ in lines))
    basis = rebate_basis(lines, excluded, terms.excludes_promoted)
    cap = min(rebate_cap(basis, terms.cap_bp), priced.amount)
    if body.rebate_amount is None:
        return RebateUse(cap=cap)
    if body.rebate_amount > cap:
        raise rebate_above_cap(body.rebate_amount, cap)
    return RebateUse(cap=body.rebate_amount, exact=True)
