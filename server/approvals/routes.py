"""HQ's approval chains: the flows per document type, what waits for me, approve / reject.

A decision goes to the document's own domain (``state.approval_deciders``, set by the app):
it votes on the run and, when the run is done, moves the document (an order to approved or
rejected), in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.approvals import flows, tasks
from server.approvals.models import ApprovalDocument, TaskStatus
from server.approvals.schemas import DecisionIn, FlowIn, FlowOut, TaskOut
from server.db.base import utcnow
from server.errors import Conflict
from server.identity.guards import requires_hq, requires_hq_admin
from server.identity.principal import Principal

Decider = Callable[[AsyncSession, Principal, str, bool, DecisionIn, datetime], Awaitable[None]]


async def decide_run(
    state: State,
    session: AsyncSession,
    actor: Principal,
    task_id: uuid.UUID,
    approve: bool,
    body: DecisionIn,
) -> TaskOut:
    """The actor's vote on a run, taken by the document's own domain (``approval_deciders``)."""
    task = await tasks.get_task(session, task_id)
    if task.status is not TaskStatus.PENDING:
        raise Conflict("approval_already_decided", "审批已结束", "The approval has been decided")
    deciders: dict[str, Decider] = state.get("approval_deciders", {})
    decider = deciders.get(str(task.document_type))
    if decider is None:
        raise Conflict(
            "approval_not_wired", "该单据类型尚未接入审批流", "This document type has no chain yet"
        )
    await decider(session, actor, task.document_id, approve, body, utcnow())
    await session.refresh(task)
    return tasks.task_out(task, await tasks.votes_of(session, [task.id]))


class ApprovalFlowController(Controller):
    path = "/hq/approval-flows"
    tags = ("hq: approvals",)
    guards = (requires_hq,)

    @get("/", summary="Approval flows")
    async def list_(self, db_session: NamedDependency[AsyncSession]) -> list[FlowOut]:
        """Every document type's steps (none: no chain)."""
        return [await flows.read_flow(db_session, d) for d in ApprovalDocument]

    @put(
        "/{document_type:str}",
        summary="Set an approval flow",
        guards=[requires_hq_admin],
        opt={"problems": (422,)},
    )
    async def replace(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        document_type: FromPath[ApprovalDocument],
        data: JSONBody[FlowIn],
    ) -> FlowOut:
        """Replace the steps (admins; runs already under way keep theirs)."""
        return await flows.replace_flow(db_session, principal, document_type, data)


class ApprovalController(Controller):
    path = "/hq/approvals"
    tags = ("hq: approvals",)
    guards = (requires_hq,)

    @get("/", summary="What waits for my approval")
    async def mine(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        document_type: Annotated[
            ApprovalDocument | None, QueryParameter(name="documentType")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> list[TaskOut]:
        """Pending runs whose current step I may decide, oldest first."""
        return await tasks.pending_for(db_session, principal, document_type, limit)

    @get("/{task_id:uuid}", summary="One approval run")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], task_id: FromPath[uuid.UUID]
    ) -> TaskOut:
        """Its steps, votes (who, when, the document's hash, comment) and where it waits."""
        task = await tasks.get_task(db_session, task_id)
        return tasks.task_out(task, await tasks.votes_of(db_session, [task.id]))

    @post(
        "/{task_id:uuid}/approve",
        summary="Approve the current step",
        status_code=200,
        opt={"problems": (409,)},
    )
    async def approve(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        task_id: FromPath[uuid.UUID],
        data: JSONBody[DecisionIn],
    ) -> TaskOut:
        """My approval of the step I am an approver of; the last one approves the document."""
        return await decide_run(state, db_session, principal, task_id, True, data)

    @post(
        "/{task_id:uuid}/reject",
        summary="Reject at the current step",
        status_code=200,
        opt={"problems": (409, 422)},
    )
    async def reject(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        task_id: FromPath[uuid.UUID],
        data: JSONBody[DecisionIn],
    ) -> TaskOut:
        """Reject (with a comment): the document is rejected."""
        return await decide_run(state, db_session, principal, task_id, False, data)
