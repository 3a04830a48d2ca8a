"""Approvals: what waits for me in HQ's approval chains, with approve and reject at hand."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.params import QueryCode
from console.render import page
from console.session import requires_console
from server.approvals.routes import decide_run
from server.approvals.schemas import DecisionIn
from server.approvals.tasks import pending_for
from server.identity.principal import Principal
from server.text import multi_line, one_line

LINKS = {
    "order": "/console/orders/{}",
    "claim": "/console/claims/{}",
    "credit_limit": "/console/dealers/{}",
}
"""Documents that have a console page."""


class VoteForm(msgspec.Struct, kw_only=True):
    action: Annotated[str, one_line(16)] = ""
    comment: Annotated[str, multi_line(500)] = ""
    step: Annotated[int, msgspec.Meta(ge=0, le=9)] = 0


@get("/approvals", guards=[requires_console])
async def approvals_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    done: QueryCode = "",
) -> Template:
    """The runs whose current step I may decide, oldest first."""
    runs = await pending_for(db_session, principal, None, 200)
    links = {
        r.id: LINKS[str(r.document_type)].format(r.document_id)
        for r in runs
        if str(r.document_type) in LINKS
    }
    return page(request, "approvals.html", runs=runs, links=links, done=done)


@post("/approvals/{task_id:uuid}/decide", guards=[requires_console])
async def decide(
    state: State,
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    task_id: FromPath[uuid.UUID],
    data: Annotated[VoteForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    """My vote on the step shown (refused if it moved on meanwhile), back to the list."""
    approve = data.action == "approve"
    body = DecisionIn(comment=data.comment, step=data.step)
    await decide_run(state, db_session, principal, task_id, approve, body)
    return Redirect(
        f"/console/approvals?done={'approved' if approve else 'rejected'}", status_code=303
    )


HANDLERS = (approvals_page, decide)
