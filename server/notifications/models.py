"""Notifications: events, the inbox, WeChat subscription templates, authorizations, messages.

Invariants:

- ``notification_events`` holds one row per (kind, key): telling twice of one thing is a no-op.
- ``inbox_items`` holds one row per (event, dealer); its read state only moves from unread to
  read, and every change is published to ``dealer:{id}``.
- ``subscription_messages`` holds at most one row per (event, user): a message is sent at most
  once per event and user. Its status moves ``pending -> sending -> sent | skipped | failed |
  uncertain`` (or back to ``pending`` only on an answer proving WeChat did not take it).
- ``subscription_grants.remaining`` never goes below 0: one one-time authorization is consumed
  by the statement that moves a message to ``sending``.
- ``wechat_access_tokens`` is one row (id 1): the shared access token, refreshed under its
  row lock (without Redis) so one process at a time fetches.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Enum, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, DealerOwned, IdMixin, utcnow


class NotificationEvent(IdMixin, Base):
    __tablename__ = "notification_events"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dealer_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    user_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxItem(IdMixin, DealerOwned, Base):
    __tablename__ = "inbox_items"
    __table_args__ = (UniqueConstraint("event_id", "dealer_id"),)

    event_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]
    read_by: Mapped[uuid.UUID | None]


class SubscriptionTemplate(IdMixin, Base):
    """A template HQ set up in the WeChat console, with the event it serves and its fields."""

    __tablename__ = "subscription_templates"

    template_id: Mapped[str] = mapped_column(String(128), unique=True)
    event_kind: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(64))
    page: Mapped[str] = mapped_column(String(256), default="")
    # [{"key": "thing1", "param": "orderNo"}]: the template's fields and what fills each.
    fields: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SubscriptionGrant(Base):
    """A user's one-time authorizations of one template (``wx.requestSubscribeMessage``)."""

    __tablename__ = "subscription_grants"
    __table_args__ = (CheckConstraint("remaining >= 0", name="remaining_non_negative"),)

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    template_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    remaining: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    last_result: Mapped[str] = mapped_column(String(16), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MessageStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


class SubscriptionMessage(IdMixin, Base):
    __tablename__ = "subscription_messages"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    event_id: Mapped[uuid.UUID] = mapped_column(index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    openid: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[MessageStatus] = mapped_column(
        Enum(MessageStatus, native_enum=False, length=16), default=MessageStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    errcode: Mapped[int | None]
    detail: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class WechatAccessToken(Base):
    __tablename__ = "wechat_access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(512), default="")
    expires_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime | None]
