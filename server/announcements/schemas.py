"""Announcement shapes at the API edge (camelCase JSON)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from server.announcements.models import Audience
from server.schemas import Request, Response
from server.text import multi_line, one_line

Title = Annotated[str, one_line(120)]
Body = Annotated[str, multi_line(5000)]
Target = Annotated[str, one_line(64, min_length=1)]
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 5


class AttachmentType(enum.StrEnum):
    """The file types an announcement may carry (checked against the uploaded bytes)."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"
    PDF = "application/pdf"


class AnnouncementIn(Request, kw_only=True):
    """A draft: a title and body in zh-CN, English or both; who it is for; pinning; expiry."""

    title_zh: Title = ""
    title_en: Title = ""
    body_zh: Body = ""
    body_en: Body = ""
    audience: Audience = Audience.ALL
    targets: Annotated[list[Target], msgspec.Meta(max_length=500)] = []
    pinned: bool = False
    expires_at: datetime | None = None


class AttachmentIn(Request, kw_only=True):
    """An attachment to upload: a client id (a retry answers a fresh form), name, type, size."""

    attachment_id: uuid.UUID
    file_name: Annotated[str, one_line(128, min_length=1)]
    content_type: AttachmentType
    size: Annotated[int, msgspec.Meta(ge=1, le=2**40)]


class AttachmentOut(Response, kw_only=True):
    id: uuid.UUID
    file_name: str
    content_type: str
    size: int


class AttachmentFormOut(Response, kw_only=True):
    """A presigned POST form: post the file to ``url`` with ``fields`` (``wx.uploadFile``)."""

    attachment_id: uuid.UUID
    key: str
    url: str
    fields: dict[str, str]
    expires_at: int
    max_bytes: int


class AttachmentLinkOut(Response, kw_only=True):
    """A presigned download link, valid for a few minutes."""

    url: str


class AnnouncementOut(Response, kw_only=True):
    """An announcement as HQ sees it."""

    id: uuid.UUID
    status: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    audience: str
    targets: list[str]
    pinned: bool
    expires_at: datetime | None
    published_at: datetime | None
    withdrawn_at: datetime | None
    created_at: datetime
    attachments: list[AttachmentOut]


class NoticeOut(Response, kw_only=True):
    """An announcement as a dealer receives it (sync entity ``announcement``); ``readAt`` is
    when the caller first read it (always null in sync: reads travel as ``announcement_read``)."""

    id: uuid.UUID
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    pinned: bool
    expires_at: datetime | None
    published_at: datetime | None
    attachments: list[AttachmentOut]
    read_at: datetime | None = None


class ReadOut(Response, kw_only=True):
    """A user's read (sync entity ``announcement_read`` in the dealer's scope)."""

    announcement_id: uuid.UUID
    user_id: uuid.UUID
    read_at: datetime


class DealerReadOut(Response, kw_only=True):
    """One dealer of the audience: when one of its users first read it, and how many did."""

    dealer_id: uuid.UUID
    dealer_code: str
    dealer_name: str
    first_read_at: datetime | None
    readers: int


class ReadReportOut(Response, kw_only=True):
    """Who has read an announcement: every active dealer it is for, read ones first."""

    announcement_id: uuid.UUID
    audience_size: int
    read_count: int
    dealers: list[DealerReadOut]
