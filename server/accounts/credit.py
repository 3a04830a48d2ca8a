"""Credit limit changes through HQ's approval chain (授信审批).

A change is asked for with ``POST .../credit-limit-requests``: when no step of the
``credit_limit`` flow applies (new limit, the dealer's tier and regions, ``increase`` or
``decrease``), it is set at once; otherwise a run starts with the new limit as its payload,
and the last approval sets it, as that approver. One pending request per dealer. While a flow
step would apply, the direct ``PUT .../credit-limit`` refuses (409): the chain cannot be
stepped around.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.funds import dealer_balances, set_credit_limit
from server.accounts.schemas import CreditLimitIn, CreditRequestOut, balances_out
from server.approvals import (
    ApprovalDocument,
    DecisionIn,
    Facts,
    Step,
    TaskStatus,
    applicable,
    flow_steps,
    open_task,
    start_task,
    task_out,
    vote,
)
from server.dealers import dealer_pricing_facts
from server.errors import Conflict
from server.identity.principal import Principal
from server.trail import content_hash

CREDIT = ApprovalDocument.CREDIT_LIMIT


async def _steps_for(
    session: AsyncSession, dealer_id: uuid.UUID, limit: int
) -> tuple[list[Step], Facts, int]:
    before = (await dealer_balances(session, dealer_id)).credit_limit
    dealer = await dealer_pricing_facts(session, dealer_id)
    facts = Facts(
        amount=limit,
        tier=dealer.tier,
        regions=tuple(str(r) for r in dealer.regions),
        reasons=("increase",) if limit > before else ("decrease",),
    )
    return applicable(await flow_steps(session, CREDIT), facts), facts, before


async def set_limit_directly(
    session: AsyncSession, actor: Principal, dealer_id: uuid.UUID, body: CreditLimitIn
) -> CreditRequestOut:
    """``PUT``: set the limit now, unless HQ's flow has a step for this change (409)."""
    steps, _, _ = await _steps_for(session, dealer_id, body.limit)
    if steps:
        raise Conflict(
            "credit_limit_needs_approval",
            "该授信调整须按审批流审批，请提交授信调整申请",
            "This credit limit change goes through the approval chain: request it instead",
        )
    balances = await set_credit_limit(session, actor, dealer_id, body.limit, body.reason)
    return CreditRequestOut(applied=True, balances=balances_out(balances))


async def request_limit(
    session: AsyncSession,
    actor: Principal,
    dealer_id: uuid.UUID,
    body: CreditLimitIn,
    now: datetime,
) -> CreditRequestOut:
    """Set the limit now when no step applies, else start its approval run."""
    steps, facts, before = await _steps_for(session, dealer_id, body.limit)
    if not steps:
        balances = await set_credit_limit(session, actor, dealer_id, body.limit, body.reason)
        return CreditRequestOut(applied=True, balances=balances_out(balances))
    if await open_task(session, CREDIT, dealer_id) is not None:
        raise Conflict(
            "credit_limit_request_pending",
            "该经销商已有待审批的授信调整",
            "A credit limit change of this dealer is already waiting for approval",
        )
    state = {"dealerId": str(dealer_id), "from": before, "to": body.limit}
    payload = {"limit": body.limit, "reason": body.reason, "requestedBy": str(actor.user_id)}
    task = await start_task(
        session, CREDIT, dealer_id, None, facts, content_hash(state), steps, now, payload
    )
    return CreditRequestOut(applied=False, approval=task_out(task, []))


async def decide_credit_by_chain(
    session: AsyncSession,
    actor: Principal,
    document_id: str,
    approve: bool,
    body: DecisionIn,
    now: datetime,
) -> None:
    """A vote on a credit limit request from ``/hq/approvals``; the last approval sets it."""
    dealer_id = uuid.UUID(document_id)
    task = await open_task(session, CREDIT, dealer_id)
    if task is None:
        raise Conflict("approval_already_decided", "审批已结束", "The approval has been decided")
    decided = await vote(session, actor, task, approve, body, task.content_hash, now)
    if decided is TaskStatus.APPROVED:
        limit, reason = int(task.payload["limit"]), str(task.payload["reason"])
        await set_credit_limit(session, actor, dealer_id, limit, reason)
