"""A dealer's returns: upload photos, request a return of shipped goods, list, detail."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server import returns
from server.db.base import utcnow
from server.identity.guards import requires_dealer
from server.identity.principal import Principal
from server.returns.schemas import PhotoPresignIn, PhotoPresignOut, ReturnCreate, ReturnOut
from server.schemas import Page
from server.text import LINE_RULE


class ReturnController(Controller):
    path = "/mp/returns"
    tags = ("mini-program: returns",)
    guards = (requires_dealer,)

    @post("/photos/presign", summary="Presigned upload form for a return photo", status_code=200)
    async def presign(
        self, state: State, principal: NamedDependency[Principal], data: JSONBody[PhotoPresignIn]
    ) -> PhotoPresignOut:
        """A form for ``wx.uploadFile`` to post one photo (images only); name it in the return."""
        return returns.presign_photo(state.storage, principal, data)

    @post(
        "/",
        summary="Request a return",
        status_code=201,
        responses={200: ResponseSpec(ReturnOut, description="A retry: the stored return")},
        opt={"problems": (404, 409)},
    )
    async def create(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[ReturnCreate],
    ) -> Response[ReturnOut]:
        """Return shipped lines (at most shipped minus returned) with a reason and photos."""
        ret, created = await returns.create_return(
            db_session, state.storage, principal, data, utcnow()
        )
        return Response(returns.return_out(ret), status_code=201 if created else 200)

    @get("/", summary="My returns")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[returns.ReturnStatus | None] = None,
        order_id: Annotated[uuid.UUID | None, QueryParameter(name="orderId")] = None,
        cursor: Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> Page[ReturnOut]:
        """My returns, filtered by status or order."""
        rows, next_cursor = await returns.list_returns(
            db_session, status=status, order_id=order_id, cursor=cursor, limit=limit
        )
        return Page(items=[returns.return_out(r) for r in rows], next_cursor=next_cursor)

    @get("/{return_id:uuid}", summary="Return status and money")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], return_id: FromPath[uuid.UUID]
    ) -> ReturnOut:
        """One of my returns: state, decisions, refund by source, the explanation."""
        return returns.return_out(await returns.get_return(db_session, return_id))
