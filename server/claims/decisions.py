"""Claim decisions in the approval trail (``server.trail``): HQ's approval and rejection, the
automatic decision (the system decides), and the payout that follows an approval.

The state a decision is about: the dealer, the promotion, the rep, the currency, the amount
claimed and approved, the status, and the ledger entry of the payout (once paid).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.claims.models import Claim, ClaimStatus
from server.db.base import utcnow
from server.notifications import EventKind, note_event
from server.trail import Actor, note_decision


def decision_state(claim: Claim) -> dict[str, Any]:
    return {
        "dealerId": str(claim.dealer_id),
        "promotionId": str(claim.promotion_id),
        "repId": None if claim.rep_id is None else str(claim.rep_id),
        "currency": claim.currency,
        "amount": claim.amount,
        "approvedAmount": claim.approved_amount,
        "status": str(claim.status),
        "payoutEntryId": None if claim.payout_entry_id is None else str(claim.payout_entry_id),
    }


def note_claim_decision(
    session: AsyncSession, actor: Actor | None, claim: Claim, comment: str = ""
) -> None:
    """Note the claim's decision (approved and paid, or rejected); ``actor`` None: automatic.
    A claim sent to review is not decided yet: nothing is noted."""
    state = decision_state(claim)
    note_claim_notice(session, claim, comment)
    if claim.status is ClaimStatus.APPROVED:
        note_decision(session, actor, "claim", claim.id, "approved", state, comment)
        note_decision(session, actor, "claim", claim.id, "paid", state)
    elif claim.status is ClaimStatus.REJECTED:
        note_decision(session, actor, "claim", claim.id, "rejected", state, comment)


def note_claim_notice(session: AsyncSession, claim: Claim, comment: str = "") -> None:
    """Tell the dealer and the rep (inbox, WeChat) that the claim was decided, once."""
    if claim.status not in (ClaimStatus.APPROVED, ClaimStatus.REJECTED):
        return
    approved = claim.status is ClaimStatus.APPROVED
    note_event(
        session,
        EventKind.CLAIM_DECIDED,
        str(claim.id),
        dealer_ids=[claim.dealer_id],
        user_ids=[claim.rep_id] if claim.rep_id else [],
        params={
            "claimNo": claim.id.hex[:12].upper(),
            "amount": (claim.approved_amount if approved else None) or claim.amount,
            "status": str(claim.status),
            "reason": comment,
            "at": claim.decided_at or utcnow(),
        },
    )
