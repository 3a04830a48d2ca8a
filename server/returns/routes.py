"""HQ side of returns: the queue with filters, one return, approve / reject, receive, window."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server import returns
from server.db.base import utcnow
from server.identity.guards import requires_hq, requires_hq_admin
from server.identity.principal import Principal
from server.returns.models import ReturnStatus
from server.returns.schemas import CommentIn, ReceiveIn, ReturnOut, WindowIn, WindowOut
from server.schemas import Page
from server.text import LINE_RULE

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Cursor = Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)]


class ReturnAdminController(Controller):
    path = "/hq/returns"
    tags = ("hq: returns",)
    guards = (requires_hq,)

    @get("/", summary="Return queue")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[ReturnStatus | None] = None,
        dealer_id: Annotated[uuid.UUID | None, QueryParameter(name="dealerId")] = None,
        order_id: Annotated[uuid.UUID | None, QueryParameter(name="orderId")] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[ReturnOut]:
        """Every dealer's returns, filtered by status (``requested``: the queue), dealer, order."""
        rows, next_cursor = await returns.list_returns(
            db_session,
            status=status,
            dealer_id=dealer_id,
            order_id=order_id,
            cursor=cursor,
            limit=limit,
        )
        return Page(items=[returns.return_out(r) for r in rows], next_cursor=next_cursor)

    @get("/{return_id:uuid}", summary="Get a return")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], return_id: FromPath[uuid.UUID]
    ) -> ReturnOut:
        """One return with its lines, photos, decisions and money."""
        return returns.return_out(await returns.get_return(db_session, return_id))

    @post("/{return_id:uuid}/approve", summary="Approve a return", status_code=200)
    async def approve(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        return_id: FromPath[uuid.UUID],
        data: JSONBody[CommentIn],
    ) -> ReturnOut:
        """Approve the return at its step (on the approval trail); the warehouse may receive."""
        ret = await returns.decide_return(
            db_session, principal, return_id, approve=True, comment=data.comment, now=utcnow()
        )
        return returns.return_out(ret)

    @post("/{return_id:uuid}/reject", summary="Reject a return", status_code=200)
    async def reject(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        return_id: FromPath[uuid.UUID],
        data: JSONBody[CommentIn],
    ) -> ReturnOut:
        """Reject with a comment (on the approval trail); its quantities may be returned again."""
        ret = await returns.decide_return(
            db_session, principal, return_id, approve=False, comment=data.comment, now=utcnow()
        )
        return returns.return_out(ret)

    @post("/{return_id:uuid}/receive", summary="Receive a return", status_code=200)
    async def receive(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        return_id: FromPath[uuid.UUID],
        data: JSONBody[ReceiveIn],
    ) -> ReturnOut:
        """Receive the goods (sellable, quarantine, scrap): refund and rebate clawback follow."""
        ret = await returns.receive_return(
            db_session, principal, return_id, data.disposition, utcnow(), state.pricing_cache
        )
        return returns.return_out(ret)


class ReturnSettingsController(Controller):
    path = "/hq/return-settings"
    tags = ("hq: returns",)
    guards = (requires_hq,)

    @get("/window", summary="Return window")
    async def window(self, db_session: NamedDependency[AsyncSession]) -> WindowOut:
        """Days after an order's last shipment within which dealers may request a return."""
        return WindowOut(window_days=await returns.window_days(db_session))

    @put("/window", summary="Set the return window", guards=[requires_hq_admin])
    async def set_window(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[WindowIn],
    ) -> WindowOut:
        """Set the return window in days (requests after it are refused)."""
        days = await returns.set_window_days(db_session, principal, data.window_days)
        return WindowOut(window_days=days)
