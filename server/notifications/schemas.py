"""What the notification routes take and answer (camelCase JSON)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from server.notifications.fields import KEY_PATTERN
from server.notifications.kinds import EventKind
from server.notifications.models import MessageStatus
from server.schemas import Request, Response
from server.text import one_line

TemplateId = Annotated[str, one_line(128, min_length=1, pattern=r"^[A-Za-z0-9_-]+$")]


class SubscribeResult(enum.StrEnum):
    """One template's answer in ``wx.requestSubscribeMessage``'s result."""

    ACCEPT = "accept"
    REJECT = "reject"
    BAN = "ban"
    FILTER = "filter"


class SubscriptionResultsIn(Request, kw_only=True):
    """What ``wx.requestSubscribeMessage`` answered: template id -> accept/reject/ban/filter.
    ``openid``, if given, must be the caller's own."""

    results: Annotated[dict[TemplateId, SubscribeResult], msgspec.Meta(min_length=1, max_length=20)]
    openid: Annotated[str, one_line(64, min_length=1)] | None = None


class GrantOut(Response, kw_only=True):
    template_id: str
    event_kind: str
    title: str
    remaining: int
    last_result: str


class SubscriptionsOut(Response, kw_only=True):
    """The templates the mini-program may ask for, with my one-time authorizations left."""

    grants: list[GrantOut]


class TemplateField(Request, kw_only=True):
    """A template field (``thing1``, ``amount2`` ...) and the event parameter that fills it."""

    key: Annotated[str, one_line(32, min_length=1, pattern=KEY_PATTERN)]
    param: Annotated[str, one_line(32, min_length=1, pattern=r"^[A-Za-z]+$")]


class TemplateIn(Request, kw_only=True):
    """A subscription template set up in the WeChat console: its event and field mapping."""

    event_kind: EventKind
    title: Annotated[str, one_line(64, min_length=1)]
    page: Annotated[str, one_line(256, pattern=r"^[A-Za-z0-9_/?=&.%-]*$")] = ""
    fields: Annotated[list[TemplateField], msgspec.Meta(min_length=1, max_length=10)]
    active: bool = True


class TemplateFieldOut(Response, kw_only=True):
    key: str
    param: str


class TemplateOut(Response, kw_only=True):
    template_id: str
    event_kind: str
    title: str
    page: str
    fields: list[TemplateFieldOut]
    active: bool
    updated_at: datetime


class MessageOut(Response, kw_only=True):
    """One subscription message: to whom, with which template, and what became of it."""

    id: uuid.UUID
    event_id: uuid.UUID
    user_id: uuid.UUID
    template_id: str
    status: MessageStatus
    attempts: int
    errcode: int | None
    detail: str
    created_at: datetime
    sent_at: datetime | None


class LocalizedText(Response, kw_only=True):
    zh: str
    en: str


class InboxItemOut(Response, kw_only=True):
    id: uuid.UUID
    kind: str
    title: LocalizedText
    body: LocalizedText
    params: dict[str, str | int | None]
    created_at: datetime
    read_at: datetime | None
    read_by: uuid.UUID | None


class InboxPage(Response, kw_only=True):
    """My inbox, newest first, with how many are unread in all."""

    items: list[InboxItemOut]
    unread: int
    next_cursor: str | None = None


class InboxReadIn(Request, kw_only=True):
    """Inbox items to mark read."""

    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=200)]
