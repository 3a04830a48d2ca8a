"""Notification rows as the API answers them."""

from __future__ import annotations

from server.notifications.models import InboxItem, SubscriptionMessage, SubscriptionTemplate
from server.notifications.schemas import (
    GrantOut,
    InboxItemOut,
    LocalizedText,
    MessageOut,
    TemplateFieldOut,
    TemplateOut,
)


def template_out(t: SubscriptionTemplate) -> TemplateOut:
    return TemplateOut(
        template_id=t.template_id,
        event_kind=t.event_kind,
        title=t.title,
        page=t.page,
        fields=[TemplateFieldOut(key=f["key"], param=f["param"]) for f in t.fields],
        active=t.active,
        updated_at=t.updated_at,
    )


def grant_out(t: SubscriptionTemplate, remaining: int, last_result: str) -> GrantOut:
    return GrantOut(
        template_id=t.template_id,
        event_kind=t.event_kind,
        title=t.title,
        remaining=remaining,
        last_result=last_result,
    )


def message_out(m: SubscriptionMessage) -> MessageOut:
    return MessageOut(
        id=m.id,
        event_id=m.event_id,
        user_id=m.user_id,
        template_id=m.template_id,
        status=m.status,
        attempts=m.attempts,
        errcode=m.errcode,
        detail=m.detail,
        created_at=m.created_at,
        sent_at=m.sent_at,
    )


def inbox_item_out(item: InboxItem) -> InboxItemOut:
    return InboxItemOut(
        id=item.id,
        kind=item.kind,
        title=LocalizedText(zh=item.title_zh, en=item.title_en),
        body=LocalizedText(zh=item.body_zh, en=item.body_en),
        params=item.params,
        created_at=item.created_at,
        read_at=item.read_at,
        read_by=item.read_by,
    )
