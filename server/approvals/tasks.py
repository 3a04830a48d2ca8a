"""A document's run through its approval chain: started with the steps that apply, decided
step by step.

- A vote is taken on the task row locked (``FOR UPDATE``), so two approvers of one step
  queue. An approver who names the step seen (``step``) is refused once it has moved on
  (``approval_step_moved``, 409). A person votes once per run (``already_voted``): one
  approver never passes two steps (separation of duties), and a double click is not a
  second step's approval.
- Only the step's approvers vote: its role, or its named users (403 ``not_your_step``).
- An approver who names the document's content hash must have seen what is decided now
  (409 ``document_changed``); every vote stores the hash it was taken on.
- A rejection at any step rejects the run and needs a comment; the last approval approves it.
  Every vote joins the approval trail; the run is published to the dealer's scope.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.approvals.flows import applicable, decode_steps, flow_steps, why
from server.approvals.models import ApprovalDocument, ApprovalTask, ApprovalVote, TaskStatus
from server.approvals.schemas import DecisionIn, Facts, Step, StepState, TaskOut, VoteOut
from server.db.repository import get_or_404
from server.errors import Conflict, Forbidden, Invalid
from server.identity import Principal
from server.trail import note_decision
from sync import publish


def new_task(
    document_type: ApprovalDocument,
    document_id: object,
    dealer_id: uuid.UUID | None,
    facts: Facts,
    content_hash: str,
    steps: Sequence[Step],
    now: datetime,
    round_: int = 1,
    payload: dict[str, Any] | None = None,
) -> ApprovalTask:
    """A pending run through ``steps`` (the caller adds it to its transaction)."""
    return ApprovalTask(
        id=uuid.uuid4(),
        document_type=document_type,
        document_id=str(document_id),
        round=round_,
        dealer_id=dealer_id,
        facts=msgspec.to_builtins(facts),
        payload=payload or {},
        content_hash=content_hash,
        steps=msgspec.to_builtins(list(steps)),
        current=0,
        status=TaskStatus.PENDING,
        created_at=now,
        updated_at=now,
    )


async def start_task(
    session: AsyncSession,
    document_type: ApprovalDocument,
    document_id: object,
    dealer_id: uuid.UUID | None,
    facts: Facts,
    content_hash: str,
    steps: Sequence[Step],
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> ApprovalTask:
    """A new run (the next round when the document went through its flow before)."""
    last = await session.scalar(
        select(func.max(ApprovalTask.round)).where(
            ApprovalTask.document_type == document_type,
            ApprovalTask.document_id == str(document_id),
        )
    )
    round_ = (last or 0) + 1
    task = new_task(
        document_type, document_id, dealer_id, facts, content_hash, steps, now, round_, payload
    )
    session.add(task)
    await session.flush()
    await publish_task(session, task, [])
    return task


async def start_if_applies(
    session: AsyncSession,
    document_type: ApprovalDocument,
    document_id: object,
    dealer_id: uuid.UUID | None,
    read_facts: Callable[[], Awaitable[Facts]],
    content_hash: str,
    now: datetime,
) -> ApprovalTask | None:
    """Start the document's run when a step of HQ's flow applies to its facts (else None);
    the facts are read only when the document type has a flow."""
    steps = await flow_steps(session, document_type)
    if not steps:
        return None
    facts = await read_facts()
    chosen = applicable(steps, facts)
    if not chosen:
        return None
    return await start_task(
        session, document_type, document_id, dealer_id, facts, content_hash, chosen, now
    )


async def vote_if_pending(
    session: AsyncSession,
    actor: Principal,
    document_type: ApprovalDocument,
    document_id: object,
    approve: bool,
    seen: DecisionIn,
    content_hash: str,
    now: datetime,
) -> tuple[bool, int | None]:
    """The actor's vote when the document has a pending run: (whether the run is done, or
    there is none, and the decision goes ahead; the step voted on)."""
    task = await open_task(session, document_type, document_id)
    if task is None:
        return True, None
    step = task.current
    decided = await vote(session, actor, task, approve, seen, content_hash, now)
    return decided is not TaskStatus.PENDING, step


async def open_task(
    session: AsyncSession, document_type: ApprovalDocument, document_id: object
) -> ApprovalTask | None:
    """The document's pending run, locked for a vote (None: it has none)."""
    stmt = (
        select(ApprovalTask)
        .where(
            ApprovalTask.document_type == document_type,
            ApprovalTask.document_id == str(document_id),
            ApprovalTask.status == TaskStatus.PENDING,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_task(
    session: AsyncSession, document_type: ApprovalDocument, document_id: object
) -> ApprovalTask | None:
    """The document's latest run, decided or not."""
    stmt = (
        select(ApprovalTask)
        .where(
            ApprovalTask.document_type == document_type,
            ApprovalTask.document_id == str(document_id),
        )
        .order_by(ApprovalTask.round.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_task(session: AsyncSession, task_id: uuid.UUID) -> ApprovalTask:
    """One run (404 ``approval_task_not_found``)."""
    return await get_or_404(session, ApprovalTask, task_id, "approval_task")


async def votes_of(session: AsyncSession, task_ids: Sequence[uuid.UUID]) -> list[ApprovalVote]:
    """The votes of these runs, in order."""
    if not task_ids:
        return []
    stmt = (
        select(ApprovalVote)
        .where(ApprovalVote.task_id.in_(task_ids))
        .order_by(ApprovalVote.at, ApprovalVote.id)
    )
    return list((await session.execute(stmt)).scalars().all())


def may_vote(step: Step, actor: Principal) -> bool:
    """Whether ``actor`` is one of the step's approvers."""
    if step.approver_ids:
        return actor.user_id in step.approver_ids
    return str(actor.role) == step.approver_role


async def vote(
    session: AsyncSession,
    actor: Principal,
    task: ApprovalTask,
    approve: bool,
    body: DecisionIn,
    content_hash: str,
    now: datetime,
) -> TaskStatus:
    """The actor's decision on the run's current step (see the module docstring)."""
    earlier = await votes_of(session, [task.id])
    steps = decode_steps(task.steps)
    step = _check_vote(task, steps, actor, approve, body, content_hash, earlier)
    record = ApprovalVote(
        id=uuid.uuid4(),
        task_id=task.id,
        step=task.current,
        actor_id=actor.user_id,
        actor_role=str(actor.role),
        outcome="approved" if approve else "rejected",
        comment=body.comment,
        content_hash=content_hash,
        at=now,
    )
    session.add(record)
    votes = [v for v in earlier if v.step == task.current]
    _advance(task, step, [*votes, record], approve, len(steps), now)
    await session.flush()
    state = {"task": str(task.id), "step": record.step, "stepName": step.name, "hash": content_hash}
    outcome = f"step_{record.outcome}"
    note_decision(
        session, actor, task.document_type, task.document_id, outcome, state, body.comment
    )
    await publish_task(session, task, [*earlier, record])
    return task.status


def _check_vote(
    task: ApprovalTask,
    steps: list[Step],
    actor: Principal,
    approve: bool,
    body: DecisionIn,
    content_hash: str,
    earlier: list[ApprovalVote],
) -> Step:
    """The current step, if the actor may decide it now; else the refusal."""
    if task.status is not TaskStatus.PENDING:
        raise Conflict("approval_already_decided", "审批已结束", "The approval has been decided")
    if body.step is not None and body.step != task.current:
        raise Conflict(
            "approval_step_moved",
            "该步骤已被他人处理，请刷新后查看",
            "That step has been decided already; reload to see where the approval stands",
            current=task.current,
        )
    step = steps[task.current]
    if not may_vote(step, actor):
        raise Forbidden(
            "not_your_step",
            f"当前步骤“{step.name}”不由您审批",
            f"You are not an approver of the current step ({step.name})",
        )
    if body.content_hash is not None and body.content_hash != content_hash:
        raise Conflict(
            "document_changed", "单据已变更，请刷新后再审批", "The document changed: reload it"
        )
    if not approve and not body.comment.strip():
        raise Invalid("comment_required", "驳回时须填写意见", "A rejection needs a comment")
    if any(v.actor_id == actor.user_id for v in earlier):
        raise Conflict(
            "already_voted",
            "您已审批过此单据的一个步骤，同一人不能审批两步",
            "You have decided a step of this approval already; one person approves one step",
        )
    return step


async def close_task(session: AsyncSession, task: ApprovalTask, now: datetime) -> None:
    """End a pending run because its document was withdrawn (no vote is taken any more)."""
    task.status, task.decided_at = TaskStatus.CANCELLED, now
    await session.flush()
    await publish_task(session, task, await votes_of(session, [task.id]))


def _advance(
    task: ApprovalTask,
    step: Step,
    votes: list[ApprovalVote],
    approve: bool,
    count: int,
    now: datetime,
) -> None:
    if not approve:
        task.status, task.decided_at = TaskStatus.REJECTED, now
        return
    approvers = {v.actor_id for v in votes if v.outcome == "approved"}
    if step.mode == "all" and not set(step.approver_ids) <= approvers:
        return  # the step waits for its other approvers
    task.current += 1
    if task.current >= count:
        task.status, task.decided_at = TaskStatus.APPROVED, now


def _waiting(task: ApprovalTask, steps: list[Step], votes: list[ApprovalVote]) -> tuple[str, str]:
    if task.status is TaskStatus.APPROVED:
        return "审批已通过", "Approved"
    if task.status is TaskStatus.REJECTED:
        return "审批已驳回", "Rejected"
    if task.status is TaskStatus.CANCELLED:
        return "单据已撤回，审批终止", "The document was withdrawn; the approval ended"
    step = steps[task.current]
    who_zh = step.approver_role or f"{len(step.approver_ids)} 位指定审批人"
    who_en = step.approver_role or f"{len(step.approver_ids)} named approver(s)"
    if step.mode == "all":
        done = len({v.actor_id for v in votes if v.step == task.current})
        who_zh += f"（全部同意，已 {done} 位）"
        who_en += f" (all of them; {done} so far)"
    reason_zh, reason_en = why(step)
    return (
        f"等待第 {task.current + 1}/{len(steps)} 步“{step.name}”审批：{who_zh}（因为{reason_zh}）",
        f"Waiting for step {task.current + 1}/{len(steps)} '{step.name}': {who_en} "
        f"(because {reason_en})",
    )


def task_out(task: ApprovalTask, votes: Sequence[ApprovalVote]) -> TaskOut:
    """The run with each step's state, its votes, and where it waits, in both languages."""
    steps = decode_steps(task.steps)
    states: list[StepState] = []
    for i, step in enumerate(steps):
        state: Any = "done" if i < task.current else "later"
        if i == task.current and task.status is TaskStatus.PENDING:
            state = "waiting"
        if i == task.current and task.status is TaskStatus.REJECTED:
            state = "rejected"
        why_zh, why_en = why(step)
        states.append(
            StepState(
                name=step.name,
                approver_role=step.approver_role,
                approver_ids=step.approver_ids,
                mode=step.mode,
                state=state,
                why_zh=why_zh,
                why_en=why_en,
            )
        )
    waiting_zh, waiting_en = _waiting(task, steps, list(votes))
    return TaskOut(
        id=task.id,
        document_type=task.document_type,
        document_id=task.document_id,
        status=task.status,
        current=task.current,
        steps=states,
        votes=[
            VoteOut(
                step=v.step,
                actor_id=v.actor_id,
                actor_role=v.actor_role,
                outcome=v.outcome,
                comment=v.comment,
                content_hash=v.content_hash,
                at=v.at,
            )
            for v in votes
        ],
        waiting_zh=waiting_zh,
        waiting_en=waiting_en,
        content_hash=task.content_hash,
        created_at=task.created_at,
        decided_at=task.decided_at,
    )


async def publish_task(
    session: AsyncSession, task: ApprovalTask, votes: Sequence[ApprovalVote]
) -> None:
    """Where the document waits, to its dealer's scope (key: document type and id)."""
    if task.dealer_id is None:
        return
    key = f"{task.document_type}:{task.document_id}"
    payload = msgspec.to_builtins(task_out(task, votes))
    await publish(session, f"dealer:{task.dealer_id}", "approval", key, "upsert", payload)


async def pending_for(
    session: AsyncSession, actor: Principal, document_type: ApprovalDocument | None, limit: int
) -> list[TaskOut]:
    """Pending runs whose current step the actor may decide, oldest first."""
    stmt = select(ApprovalTask).where(ApprovalTask.status == TaskStatus.PENDING)
    if document_type is not None:
        stmt = stmt.where(ApprovalTask.document_type == document_type)
    stmt = stmt.order_by(ApprovalTask.created_at, ApprovalTask.id).limit(2_000)
    tasks = [
        t
        for t in (await session.execute(stmt)).scalars().all()
        if may_vote(decode_steps(t.steps)[t.current], actor)
    ][:limit]
    votes = await votes_of(session, [t.id for t in tasks])
    return [task_out(t, [v for v in votes if v.task_id == t.id]) for t in tasks]
