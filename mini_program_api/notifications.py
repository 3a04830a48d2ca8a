"""My subscription-message authorizations and my dealer's inbox."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import NotFound
from server.identity.guards import requires_dealer, requires_field
from server.identity.principal import Principal
from server.notifications import inbox, subscriptions
from server.notifications.presenter import grant_out, inbox_item_out
from server.notifications.schemas import (
    InboxItemOut,
    InboxPage,
    InboxReadIn,
    SubscriptionResultsIn,
    SubscriptionsOut,
)
from server.text import LINE_RULE


def _dealer(principal: Principal) -> uuid.UUID:
    assert principal.dealer_id is not None  # requires_dealer guarantees it
    return principal.dealer_id


class SubscriptionController(Controller):
    path = "/mp/subscriptions"
    tags = ("mini-program: notifications",)
    guards = (requires_field,)

    @get("/", summary="My subscription message authorizations")
    async def mine(
        self, db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> SubscriptionsOut:
        """The templates to ask for (``wx.requestSubscribeMessage``) and my authorizations left."""
        rows = await subscriptions.grants_of(db_session, principal.user_id)
        return SubscriptionsOut(grants=[grant_out(*row) for row in rows])

    @post(
        "/",
        summary="Record wx.requestSubscribeMessage results",
        status_code=200,
        opt={"problems": (403, 422)},
    )
    async def record(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[SubscriptionResultsIn],
    ) -> SubscriptionsOut:
        """Each ``accept`` adds one one-time authorization of that template, for me only."""
        await subscriptions.record_results(db_session, principal.user_id, data)
        rows = await subscriptions.grants_of(db_session, principal.user_id)
        return SubscriptionsOut(grants=[grant_out(*row) for row in rows])


class InboxController(Controller):
    path = "/mp/inbox"
    tags = ("mini-program: notifications",)
    guards = (requires_dealer,)

    @get("/", summary="My inbox", opt={"problems": (400,)})
    async def list_items(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        unread: Annotated[bool, QueryParameter()] = False,
        cursor: Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> InboxPage:
        """My dealer's notifications newest first (``unread`` only those nobody read)."""
        dealer_id = _dealer(principal)
        rows, next_cursor = await inbox.list_inbox(
            db_session, dealer_id, unread_only=unread, cursor=cursor, limit=limit
        )
        return InboxPage(
            items=[inbox_item_out(i) for i in rows],
            unread=await inbox.unread_count(db_session, dealer_id),
            next_cursor=next_cursor,
        )

    @post("/read", summary="Mark inbox items read", status_code=200)
    async def read_many(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[InboxReadIn],
    ) -> list[InboxItemOut]:
        """Mark these items read (ids of other dealers are ignored); the first reader stays."""
        items = await inbox.mark_read(db_session, _dealer(principal), principal.user_id, data.ids)
        return [inbox_item_out(i) for i in items]

    @put("/{item_id:uuid}/read", summary="Mark one inbox item read")
    async def read_one(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
    ) -> InboxItemOut:
        """Mark this item read."""
        items = await inbox.mark_read(db_session, _dealer(principal), principal.user_id, [item_id])
        if not items:
            raise NotFound("inbox_item_not_found", "消息不存在", "Inbox item not found")
        return inbox_item_out(items[0])
