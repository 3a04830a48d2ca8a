"""Where a dealer's document waits in HQ's approval chain, and why."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from server.approvals import ApprovalDocument, latest_task, task_out, votes_of
from server.approvals.schemas import TaskOut
from server.errors import NotFound
from server.identity.guards import requires_dealer
from server.identity.principal import Principal
from server.schemas import path_text


class ApprovalStatusController(Controller):
    path = "/mp/approvals"
    tags = ("mini-program: approvals",)
    guards = (requires_dealer,)

    @get("/{document_type:str}/{document_id:str}", summary="Where my document waits")
    async def status(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        document_type: FromPath[ApprovalDocument],
        document_id: Annotated[str, path_text(64)],
    ) -> TaskOut:
        """The latest approval run of one of my documents: steps, votes, what it waits for."""
        task = await latest_task(db_session, document_type, document_id)
        if task is None or task.dealer_id != principal.dealer_id:
            raise NotFound("approval_task_not_found")
        return task_out(task, await votes_of(db_session, [task.id]))
