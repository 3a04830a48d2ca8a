"""HQ's subscription templates and users' one-time authorizations (``wx.requestSubscribeMessage``).

A user can only record authorizations for templates HQ configured (and still active), and
only for themself: the route takes the user from the token, and an ``openid`` in the body
must be the caller's own. Each ``accept`` adds one authorization; ``reject``, ``ban`` and
``filter`` add none (WeChat keeps the ones given earlier). A message consumes one
(``server.notifications.delivery``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.dialect import insert_ignoring_duplicates
from server.errors import Forbidden, Invalid, NotFound
from server.identity import get_user
from server.notifications.kinds import PARAMS, EventKind
from server.notifications.models import (
    MessageStatus,
    SubscriptionGrant,
    SubscriptionMessage,
    SubscriptionTemplate,
)
from server.notifications.schemas import SubscribeResult, SubscriptionResultsIn, TemplateIn


def _check_fields(body: TemplateIn) -> None:
    offered = PARAMS[EventKind(body.event_kind)]
    keys = [f.key for f in body.fields]
    if len(set(keys)) != len(keys):
        raise Invalid(
            "template_field_repeated",
            "模板字段重复",
            "A template field appears twice",
            errors=[{"field": "fields", "message": "duplicate key"}],
        )
    for spec in body.fields:
        if spec.param not in offered:
            raise Invalid(
                "template_param_unknown",
                f"事件 {body.event_kind} 没有参数 {spec.param}（可用：{'、'.join(offered)}）",
                f"Event {body.event_kind} has no parameter {spec.param} "
                f"(offered: {', '.join(offered)})",
                param=spec.param,
                offered=list(offered),
            )


async def put_template(
    session: AsyncSession, template_id: str, body: TemplateIn
) -> SubscriptionTemplate:
    """Create or replace a template's configuration (its event, title, page and fields)."""
    _check_fields(body)
    values = {
        "id": uuid.uuid4(),
        "template_id": template_id,
        "event_kind": str(body.event_kind),
        "title": body.title,
        "page": body.page,
        "fields": [{"key": f.key, "param": f.param} for f in body.fields],
        "active": body.active,
        "created_at": utcnow(),
    }
    await session.execute(insert_ignoring_duplicates(session, SubscriptionTemplate, [values]))
    changes = {k: values[k] for k in ("event_kind", "title", "page", "fields", "active")}
    await session.execute(
        update(SubscriptionTemplate)
        .where(SubscriptionTemplate.template_id == template_id)
        .values(**changes, updated_at=utcnow())
    )
    return await get_template(session, template_id)


async def get_template(session: AsyncSession, template_id: str) -> SubscriptionTemplate:
    """One configured template, or ``subscription_template_not_found`` (404)."""
    row = (
        await session.execute(
            select(SubscriptionTemplate)
            .where(SubscriptionTemplate.template_id == template_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(
            "subscription_template_not_found", "订阅消息模板未配置", "Template not configured"
        )
    return row


async def list_templates(session: AsyncSession) -> list[SubscriptionTemplate]:
    """Every configured template, active first, by event kind."""
    query = select(SubscriptionTemplate).order_by(
        SubscriptionTemplate.active.desc(),
        SubscriptionTemplate.event_kind,
        SubscriptionTemplate.template_id,
    )
    return list((await session.execute(query)).scalars())


async def record_results(
    session: AsyncSession, user_id: uuid.UUID, body: SubscriptionResultsIn
) -> None:
    """Record the caller's ``wx.requestSubscribeMessage`` results (one authorization per accept)."""
    if body.openid is not None:
        user = await get_user(session, user_id)
        if user.wechat_openid != body.openid:
            raise Forbidden(
                "subscription_other_user",
                "只能登记本人的订阅授权",
                "Authorizations can only be recorded for yourself",
            )
    known = {t.template_id for t in await list_templates(session) if t.active}
    unknown = sorted(set(body.results) - known)
    if unknown:
        raise Invalid(
            "subscription_template_unknown",
            f"总部未配置这些订阅消息模板：{', '.join(unknown)}",
            f"Templates not configured by HQ: {', '.join(unknown)}",
            templateIds=unknown,
        )
    for template_id, result in sorted(body.results.items()):
        await _record_one(session, user_id, template_id, result)


async def _record_one(
    session: AsyncSession, user_id: uuid.UUID, template_id: str, result: SubscribeResult
) -> None:
    row = {"user_id": user_id, "template_id": template_id, "remaining": 0, "accepted": 0}
    await session.execute(
        insert_ignoring_duplicates(
            session, SubscriptionGrant, [{**row, "last_result": "", "updated_at": utcnow()}]
        )
    )
    accepted = int(result is SubscribeResult.ACCEPT)
    await session.execute(
        update(SubscriptionGrant)
        .where(SubscriptionGrant.user_id == user_id, SubscriptionGrant.template_id == template_id)
        .values(
            remaining=SubscriptionGrant.remaining + accepted,
            accepted=SubscriptionGrant.accepted + accepted,
            last_result=str(result),
            updated_at=utcnow(),
        )
    )


async def grants_of(
    session: AsyncSession, user_id: uuid.UUID
) -> list[tuple[SubscriptionTemplate, int, str]]:
    """Every active template with the user's authorizations left and last answer."""
    query = (
        select(SubscriptionTemplate, SubscriptionGrant.remaining, SubscriptionGrant.last_result)
        .outerjoin(
            SubscriptionGrant,
            (SubscriptionGrant.template_id == SubscriptionTemplate.template_id)
            & (SubscriptionGrant.user_id == user_id),
        )
        .where(SubscriptionTemplate.active)
        .order_by(SubscriptionTemplate.event_kind, SubscriptionTemplate.template_id)
        .execution_options(populate_existing=True)
    )
    return [(t, remaining or 0, last or "") for t, remaining, last in await session.execute(query)]


async def list_messages(
    session: AsyncSession,
    *,
    status: MessageStatus | None = None,
    user_id: uuid.UUID | None = None,
    limit: int = 100,
) -> Sequence[SubscriptionMessage]:
    """Subscription messages newest first (HQ's delivery log), by status and user."""
    query = select(SubscriptionMessage)
    if status is not None:
        query = query.where(SubscriptionMessage.status == status)
    if user_id is not None:
        query = query.where(SubscriptionMessage.user_id == user_id)
    query = query.order_by(SubscriptionMessage.created_at.desc(), SubscriptionMessage.id).limit(
        limit
    )
    return (await session.execute(query)).scalars().all()
