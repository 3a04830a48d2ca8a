"""HQ configures subscription templates and reads the subscription-message log."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.identity.guards import requires_hq, requires_hq_admin
from server.notifications import subscriptions
from server.notifications.models import MessageStatus
from server.notifications.presenter import message_out, template_out
from server.notifications.schemas import MessageOut, TemplateIn, TemplateOut
from server.text import LINE_RULE

TemplatePath = Annotated[
    str, PathParameter(min_length=1, max_length=128, pattern=LINE_RULE + r"[A-Za-z0-9_-]+$")
]


class SubscriptionTemplateController(Controller):
    path = "/hq/notifications"
    tags = ("hq: notifications",)
    guards = (requires_hq,)

    @get("/templates", summary="Subscription message templates")
    async def templates(self, db_session: NamedDependency[AsyncSession]) -> list[TemplateOut]:
        """Every template HQ set up: the event it serves and which parameter fills each field."""
        return [template_out(t) for t in await subscriptions.list_templates(db_session)]

    @put(
        "/templates/{template_id:str}",
        summary="Configure a subscription message template",
        guards=[requires_hq_admin],
        opt={"problems": (422,)},
    )
    async def put_template(
        self,
        db_session: NamedDependency[AsyncSession],
        template_id: TemplatePath,
        data: JSONBody[TemplateIn],
    ) -> TemplateOut:
        """Create or replace a template (id from the WeChat console); ``active: false`` retires it."""
        return template_out(await subscriptions.put_template(db_session, template_id, data))

    @get("/messages", summary="Subscription message log")
    async def messages(
        self,
        db_session: NamedDependency[AsyncSession],
        status: Annotated[MessageStatus | None, QueryParameter()] = None,
        user_id: Annotated[uuid.UUID | None, QueryParameter(name="userId")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[MessageOut]:
        """Messages newest first: sent, skipped (no authorization), failed or uncertain."""
        rows = await subscriptions.list_messages(
            db_session, status=status, user_id=user_id, limit=limit
        )
        return [message_out(m) for m in rows]
