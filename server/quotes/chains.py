"""Quote discounts in HQ's approval chain: a quote sent for approval (its discount beyond the
tier's threshold) goes through the steps of the ``quote_discount`` flow that apply (amount,
the dealer's tier and regions, the reasons it needs approval); each HQ decision is a vote on
the current step and only the last approval approves it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.approvals import ApprovalDocument, DecisionIn, Facts, start_if_applies, vote_if_pending
from server.dealers import dealer_pricing_facts
from server.identity.principal import Principal
from server.quotes.models import Quote
from server.trail import content_hash

DOCUMENT = ApprovalDocument.QUOTE_DISCOUNT


def _state(quote: Quote) -> dict[str, object]:
    return {"quote": str(quote.id), "amount": quote.amount, "dealerId": str(quote.dealer_id)}


async def start_discount_chain(
    session: AsyncSession, quote: Quote, reasons: list[str], now: datetime
) -> None:
    """Start the quote's run when a step of HQ's quote-discount flow applies to it."""

    async def read_facts() -> Facts:
        dealer = await dealer_pricing_facts(session, quote.dealer_id)
        facts = Facts(
            amount=quote.amount,
            tier=dealer.tier,
            regions=tuple(str(r) for r in dealer.regions),
            reasons=tuple(sorted(set(reasons))),
        )
        return facts

    state = content_hash(_state(quote))
    await start_if_applies(session, DOCUMENT, quote.id, quote.dealer_id, read_facts, state, now)


async def vote_on_quote(
    session: AsyncSession,
    actor: Principal,
    quote: Quote,
    approve: bool,
    seen: DecisionIn,
    now: datetime,
) -> bool:
    """The actor's vote when the quote has a pending run; True: the run is done (or there is
    none) and the decision goes ahead."""
    state = content_hash(_state(quote))
    done, _ = await vote_if_pending(session, actor, DOCUMENT, quote.id, approve, seen, state, now)
    return done
