"""Claims in HQ's approval chain: a claim held for review goes through the steps that apply
(amount claimed, the dealer's tier and regions, the reasons it is held for); each HQ decision
is a vote on the current step, and only the last approval pays it. A claim the rules decide on
their own (auto-approved within HQ's limit, auto-rejected) never enters the chain.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.approvals import ApprovalDocument, DecisionIn, Facts, start_if_applies, vote_if_pending
from server.claims.decisions import decision_state
from server.claims.models import Claim
from server.db.base import utcnow
from server.dealers import dealer_pricing_facts
from server.identity.principal import Principal
from server.trail import content_hash


async def start_review_chain(
    session: AsyncSession, claim: Claim, reasons: list[dict[str, Any]]
) -> None:
    """Start the claim's run when a step of HQ's claim flow applies to it."""

    async def read_facts() -> Facts:
        dealer = await dealer_pricing_facts(session, claim.dealer_id)
        codes = tuple(sorted({str(r.get("code")) for r in reasons}))
        regions = tuple(str(r) for r in dealer.regions)
        facts = Facts(amount=claim.amount, tier=dealer.tier, regions=regions, reasons=codes)
        return facts

    state_hash = content_hash(decision_state(claim))
    await start_if_applies(
        session, ApprovalDocument.CLAIM, claim.id, claim.dealer_id, read_facts, state_hash, utcnow()
    )


async def vote_on_claim(
    session: AsyncSession, actor: Principal, claim: Claim, approve: bool, body: DecisionIn
) -> bool:
    """The actor's vote when the claim has a pending run; True: the run is done (or there is
    none) and the decision may go ahead."""
    state_hash = content_hash(decision_state(claim))
    done, _ = await vote_if_pending(
        session, actor, ApprovalDocument.CLAIM, claim.id, approve, body, state_hash, utcnow()
    )
    return done
