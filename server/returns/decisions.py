"""HQ decides a return: approve or reject, step by step, each decision on the approval trail.

A return with a run in HQ's approval chain (``server.returns.chains``) waits for each step
that applies: every decision is a vote on the current step (recorded as ``step_approved``),
the last approval approves it, a rejection at any step rejects it. Without a run, one HQ
decision approves or rejects it (``steps_for``). A second decision on a return that left
``requested`` is 409 ``return_already_decided``. The dealer is told once it is decided.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.approvals import DecisionIn
from server.audit import record
from server.errors import Conflict, Invalid, NotFound
from server.identity.principal import Principal
from server.notifications import EventKind, note_event
from server.returns.chains import vote_on_return
from server.returns.models import ReturnDecision, ReturnRequest, ReturnStatus
from server.returns.publication import publish_return
from server.returns.queries import get_return
from server.trail import note_decision


def steps_for(ret: ReturnRequest) -> int:
    """How many approval steps the return passes (one until approval chains are configured)."""
    del ret
    return 1


def decision_state(ret: ReturnRequest) -> dict[str, object]:
    """The return's content a decision is about (hashed onto the approval trail)."""
    return {
        "returnId": str(ret.id),
        "orderId": str(ret.order_id),
        "dealerId": str(ret.dealer_id),
        "reason": ret.reason,
        "step": ret.step,
        "lines": [[ln.order_line, ln.sku_code, ln.qty] for ln in ret.lines],
        "photos": sorted(p.sha256 for p in ret.photos),
    }


def _check_decidable(ret: ReturnRequest, approve: bool, comment: str) -> None:
    if ret.status is not ReturnStatus.REQUESTED:
        raise Conflict(
            "return_already_decided",
            "该退货单已处理，请刷新后查看",
            "This return has already been decided; reload it",
            status=str(ret.status),
        )
    if not approve and not comment.strip():
        raise Invalid(
            "comment_required",
            "驳回时须填写意见",
            "A rejection needs a comment",
            errors=[
                {"key": "comment", "message": "请填写驳回意见", "message_en": "Required to reject"}
            ],
        )


async def decide_return(
    session: AsyncSession,
    actor: Principal,
    return_id: uuid.UUID,
    *,
    approve: bool,
    comment: str,
    now: datetime,
    seen: DecisionIn | None = None,
) -> ReturnRequest:
    """Approve or reject the return at its current step (audited, on the approval trail)."""
    ret = await get_return(session, return_id, lock=True)
    _check_decidable(ret, approve, comment)
    body = seen or DecisionIn(comment=comment)
    done, step = await vote_on_return(session, actor, ret, approve, body, decision_state(ret), now)
    if not done:
        return await _step_passed(session, actor, ret, step or 0, comment, now)
    outcome = "approved" if approve else "rejected"
    note_decision(session, actor, "return", ret.id, outcome, decision_state(ret), comment)
    ret.decisions.append(
        ReturnDecision(
            id=uuid.uuid4(),
            step=ret.step,
            outcome=outcome,
            actor_id=actor.user_id,
            comment=comment,
            at=now,
            detail={},
        )
    )
    if not approve:
        ret.status = ReturnStatus.REJECTED
    elif ret.step >= steps_for(ret):
        ret.status = ReturnStatus.APPROVED
    else:
        ret.step += 1
    ret.updated_at = now
    record(session, actor, f"return.{outcome}", "return", ret.id, {"comment": comment})
    if ret.status is not ReturnStatus.REQUESTED:
        _tell_dealer(session, ret, comment, now)
    await publish_return(session, ret)
    return ret


async def _step_passed(
    session: AsyncSession,
    actor: Principal,
    ret: ReturnRequest,
    step: int,
    comment: str,
    now: datetime,
) -> ReturnRequest:
    """A vote that passed one step of the chain: recorded; the return waits for the next."""
    ret.decisions.append(
        ReturnDecision(
            id=uuid.uuid4(),
            step=step + 1,
            outcome="step_approved",
            actor_id=actor.user_id,
            comment=comment,
            at=now,
            detail={},
        )
    )
    ret.updated_at = now
    record(session, actor, "return.step_approved", "return", ret.id, {"comment": comment})
    await publish_return(session, ret)
    return ret


def _tell_dealer(session: AsyncSession, ret: ReturnRequest, comment: str, now: datetime) -> None:
    note_event(
        session,
        EventKind.RETURN_DECIDED,
        str(ret.id),
        dealer_ids=[ret.dealer_id],
        params={
            "returnNo": ret.id.hex[:12].upper(),
            "amount": ret.returned_value or None,
            "status": str(ret.status),
            "reason": comment,
            "at": now,
        },
    )


async def decide_return_by_chain(
    session: AsyncSession,
    actor: Principal,
    document_id: str,
    approve: bool,
    body: DecisionIn,
    now: datetime,
) -> None:
    """A vote on a return's approval chain from ``/hq/approvals`` (the last one decides it)."""
    try:
        return_id = uuid.UUID(document_id)
    except ValueError as exc:
        raise NotFound("return_not_found", "退货单不存在", "Return not found") from exc
    await decide_return(
        session, actor, return_id, approve=approve, comment=body.comment, now=now, seen=body
    )
