"""Approval flows and runs at the API edge; a step's conditions and whether facts meet them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from server.approvals.models import ApprovalDocument, TaskStatus
from server.errors import Invalid
from server.schemas import Request, Response
from server.text import multi_line, one_line

Amount = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
Code = Annotated[str, one_line(32, min_length=1)]
RegionCode = Annotated[str, one_line(12, pattern=r"^[0-9]{2,12}$")]
HqRole = Literal["hq_admin", "hq_operator"]


class Step(Request, kw_only=True):
    """One step: who approves (a role, or named HQ users: ``any`` one or ``all`` of them) and
    when it applies (every condition given must hold; none given: always)."""

    name: Annotated[str, one_line(32, min_length=1)]
    approver_role: HqRole | None = None
    approver_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=20)] = []
    mode: Literal["any", "all"] = "any"
    min_amount: Amount | None = None
    max_amount: Amount | None = None
    tiers: Annotated[list[Code], msgspec.Meta(max_length=50)] = []
    regions: Annotated[list[RegionCode], msgspec.Meta(max_length=200)] = []
    reasons: Annotated[list[Code], msgspec.Meta(max_length=20)] = []
    enabled: bool = True


class FlowIn(Request, kw_only=True):
    steps: Annotated[list[Step], msgspec.Meta(max_length=10)]


class FlowOut(Response, kw_only=True):
    document_type: ApprovalDocument
    steps: list[Step]
    updated_at: datetime | None = None


class Facts(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """What a document shows its flow: amount (fen), dealer tier, its region (an order's
    ship-to) or else the dealer's regions, reasons."""

    amount: int | None = None
    tier: str | None = None
    region: str | None = None
    regions: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


def check_steps(steps: list[Step]) -> None:
    """422 ``approval_step_invalid`` naming the first step that cannot work."""
    for i, step in enumerate(steps):
        problem = None
        if (step.approver_role is None) == (not step.approver_ids):
            problem = (
                "须指定审批角色或审批人（二选一）",
                "give an approver role or named approvers",
            )
        elif step.mode == "all" and not step.approver_ids:
            problem = ("“全部同意”须指定审批人", "'all' needs named approvers")
        elif len(set(step.approver_ids)) != len(step.approver_ids):
            problem = ("审批人重复", "an approver is named twice")
        elif (
            step.min_amount is not None
            and step.max_amount is not None
            and step.min_amount > step.max_amount
        ):
            problem = ("金额下限高于上限", "the minimum amount is above the maximum")
        if problem:
            raise Invalid(
                "approval_step_invalid",
                f"第 {i + 1} 步（{step.name}）无效：{problem[0]}",
                f"Step {i + 1} ({step.name}) is invalid: {problem[1]}",
                errors=[{"key": f"steps[{i}]", "message": problem[0], "message_en": problem[1]}],
            )
    if len({s.name for s in steps}) != len(steps):
        raise Invalid("approval_step_invalid", "步骤名称重复", "Two steps have the same name")


def applies(step: Step, facts: Facts) -> bool:
    """Whether ``step`` is on and every condition it gives holds for ``facts``."""
    if not step.enabled:
        return False
    amount = facts.amount or 0
    if step.min_amount is not None and amount < step.min_amount:
        return False
    if step.max_amount is not None and amount > step.max_amount:
        return False
    if step.tiers and facts.tier not in step.tiers:
        return False
    places = (facts.region,) if facts.region else facts.regions
    if step.regions and not any(p.startswith(r) for p in places for r in step.regions):
        return False
    return not step.reasons or bool(set(step.reasons) & set(facts.reasons))


class DecisionIn(Request, kw_only=True):
    """``contentHash`` and ``step``: the document and the step (0-based) as the approver saw
    them (optional; refused when either has moved on)."""

    comment: Annotated[str, multi_line(500)] = ""
    content_hash: Annotated[str, one_line(64)] | None = None
    step: Annotated[int, msgspec.Meta(ge=0, le=9)] | None = None


class VoteOut(Response, kw_only=True):
    step: int
    actor_id: uuid.UUID
    actor_role: str
    outcome: str
    comment: str
    content_hash: str
    at: datetime


class StepState(Response, kw_only=True):
    name: str
    approver_role: str | None
    approver_ids: list[uuid.UUID]
    mode: str
    state: Literal["done", "waiting", "later", "rejected"]
    why_zh: str
    why_en: str


class TaskOut(Response, kw_only=True):
    id: uuid.UUID
    document_type: ApprovalDocument
    document_id: str
    status: TaskStatus
    current: int
    steps: list[StepState]
    votes: list[VoteOut]
    waiting_zh: str
    waiting_en: str
    content_hash: str
    created_at: datetime
    decided_at: datetime | None = None
