"""HQ's approval flows: read, replace (checked), and the steps that apply to a document."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.approvals.models import ApprovalDocument, ApprovalFlow
from server.approvals.schemas import Facts, FlowIn, FlowOut, Step, applies, check_steps
from server.audit import record
from server.db.base import utcnow
from server.errors import Invalid, NotFound
from server.identity import HQ_ROLES, Principal, get_user
from server.pricing.money import format_fen
from server.trail import note_decision


def steps_scalar(document_type: ApprovalDocument) -> Any:
    """A scalar subquery of the flow's steps (JSON), for a statement that reads more."""
    return (
        select(ApprovalFlow.steps)
        .where(ApprovalFlow.document_type == document_type)
        .scalar_subquery()
    )


def decode_steps(raw: object) -> list[Step]:
    """Steps as stored (a list, or its JSON text from a raw driver row)."""
    if raw is None:
        return []
    if isinstance(raw, str | bytes):
        raw = msgspec.json.decode(raw)
    return msgspec.convert(raw, list[Step])


async def flow_steps(session: AsyncSession, document_type: ApprovalDocument) -> list[Step]:
    """The flow's steps as HQ set them (none: no flow)."""
    flow = await session.get(ApprovalFlow, document_type)
    return decode_steps(flow.steps) if flow is not None else []


def applicable(steps: list[Step], facts: Facts) -> list[Step]:
    """The steps a document with these facts goes through, in order."""
    return [s for s in steps if applies(s, facts)]


async def read_flow(session: AsyncSession, document_type: ApprovalDocument) -> FlowOut:
    """The flow for a document type (no steps: no flow)."""
    flow = await session.get(ApprovalFlow, document_type)
    if flow is None:
        return FlowOut(document_type=document_type, steps=[])
    return FlowOut(
        document_type=document_type, steps=decode_steps(flow.steps), updated_at=flow.updated_at
    )


async def _check_approvers(session: AsyncSession, body: FlowIn) -> None:
    for i, step in enumerate(body.steps):
        for user_id in step.approver_ids:
            try:
                user = await get_user(session, user_id)
            except NotFound:
                user = None
            if user is None or user.role not in HQ_ROLES or not user.active:
                raise Invalid(
                    "approver_unknown",
                    f"第 {i + 1} 步的审批人不存在或不是总部用户",
                    f"An approver of step {i + 1} is not an active HQ user",
                    approver_id=str(user_id),
                )


async def replace_flow(
    session: AsyncSession, actor: Principal, document_type: ApprovalDocument, body: FlowIn
) -> FlowOut:
    """Replace the flow's steps (runs under way keep the steps they started with)."""
    check_steps(body.steps)
    await _check_approvers(session, body)
    flow = await session.get(ApprovalFlow, document_type, with_for_update=True)
    steps = msgspec.to_builtins(body.steps)
    if flow is None:
        flow = ApprovalFlow(document_type=document_type, steps=steps, updated_by=actor.user_id)
        session.add(flow)
    else:
        flow.steps, flow.updated_by, flow.updated_at = steps, actor.user_id, utcnow()
    await session.flush()
    record(
        session, actor, "approval_flow.replaced", "approval_flow", document_type, {"steps": steps}
    )
    note_decision(session, actor, "approval_flow", document_type, "replaced", {"steps": steps})
    return await read_flow(session, document_type)


def why(step: Step) -> tuple[str, str]:
    """A step's conditions in words (zh-CN, English)."""
    zh: list[str] = []
    en: list[str] = []
    if step.min_amount is not None:
        zh.append(f"金额 ≥ ¥{format_fen(step.min_amount)}")
        en.append(f"amount ≥ ¥{format_fen(step.min_amount)}")
    if step.max_amount is not None:
        zh.append(f"金额 ≤ ¥{format_fen(step.max_amount)}")
        en.append(f"amount ≤ ¥{format_fen(step.max_amount)}")
    if step.tiers:
        zh.append("等级为 " + "、".join(step.tiers))
        en.append("tier " + " or ".join(step.tiers))
    if step.regions:
        zh.append("区域属于 " + "、".join(step.regions))
        en.append("region within " + " or ".join(step.regions))
    if step.reasons:
        zh.append("原因含 " + "、".join(step.reasons))
        en.append("reason " + " or ".join(step.reasons))
    if not zh:
        return "每一单都需此步", "every document takes this step"
    return "；".join(zh), "; ".join(en)
