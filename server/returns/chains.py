"""Returns in HQ's approval chain (``return`` flow): a return request goes through the steps
that apply (its value at the prices paid, the dealer's tier and regions, its reason and
whether it is an exchange); each HQ decision is a vote on the current step and only the last
approval approves it. Without a step that applies, one HQ decision approves it, as before.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.approvals import ApprovalDocument, DecisionIn, Facts, start_if_applies, vote_if_pending
from server.dealers import dealer_pricing_facts
from server.identity.principal import Principal
from server.returns.models import ReturnRequest
from server.trail import content_hash

DOCUMENT = ApprovalDocument.RETURN


async def start_return_chain(
    session: AsyncSession, ret: ReturnRequest, value: int, state: dict[str, object], now: datetime
) -> None:
    """Start the return's run when a step of HQ's return flow applies to it."""

    async def read_facts() -> Facts:
        dealer = await dealer_pricing_facts(session, ret.dealer_id)
        facts = Facts(
            amount=value,
            tier=dealer.tier,
            regions=tuple(str(r) for r in dealer.regions),
            reasons=(ret.reason, "exchange" if ret.exchange else "refund"),
        )
        return facts

    state_hash = content_hash(state)
    await start_if_applies(session, DOCUMENT, ret.id, ret.dealer_id, read_facts, state_hash, now)


async def vote_on_return(
    session: AsyncSession,
    actor: Principal,
    ret: ReturnRequest,
    approve: bool,
    seen: DecisionIn,
    state: dict[str, object],
    now: datetime,
) -> tuple[bool, int | None]:
    """The actor's vote when the return has a pending run: (whether the run is done or there
    is none, the step voted on)."""
    return await vote_if_pending(
        session, actor, DOCUMENT, ret.id, approve, seen, content_hash(state), now
    )
