"""HQ decides a return: approve or reject, step by step, each decision on the approval trail.

A return waits at ``step`` (1-based). Today every return has one step (``steps_for``): an
approval at the last step approves the return, a rejection at any step rejects it. An
approval chain plugs in by answering more steps (and who may decide each) from
``steps_for``; the decisions table already records the step of every decision. A return is
decided once per step: a second decision on a return that left ``requested`` is 409
``return_already_decided``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.errors import Conflict, Invalid
from server.identity.principal import Principal
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
) -> ReturnRequest:
    """Approve or reject the return at its current step (audited, on the approval trail)."""
    ret = await get_return(session, return_id, lock=True)
    _check_decidable(ret, approve, comment)
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
    await publish_return(session, ret)
    return ret
