"""Announcements (公告): HQ's notices, their attachments, and who has read them.

An announcement is written as a draft, published once (then its text, audience and
attachments never change) and may be withdrawn. ``targets`` holds the tier codes, region
codes or dealer ids its ``audience`` names (empty for ``all``). A read is one row per user
who opened it (dealer-owned: a dealer's session sees only its own users' reads).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, DealerOwned, IdMixin, TimestampMixin


class AnnouncementStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class Audience(enum.StrEnum):
    """Who an announcement is for: every dealer, or the named tiers, regions or dealers."""

    ALL = "all"
    TIERS = "tiers"
    REGIONS = "regions"
    DEALERS = "dealers"


class Announcement(IdMixin, TimestampMixin, Base):
    __tablename__ = "announcements"

    status: Mapped[AnnouncementStatus] = mapped_column(
        Enum(AnnouncementStatus, native_enum=False, length=16), index=True
    )
    title_zh: Mapped[str] = mapped_column(String(120), default="")
    title_en: Mapped[str] = mapped_column(String(120), default="")
    body_zh: Mapped[str] = mapped_column(Text, default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[Audience] = mapped_column(Enum(Audience, native_enum=False, length=16))
    targets: Mapped[list[str]] = mapped_column(JSON, default=list)
    pinned: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID]

    attachments: Mapped[list[AnnouncementAttachment]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="AnnouncementAttachment.position",
    )


class AnnouncementAttachment(Base):
    """A file HQ attached; uploaded with a presigned form, checked when published."""

    __tablename__ = "announcement_attachments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    announcement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(128))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str] = mapped_column(String(512), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), default="")


class AnnouncementRead(DealerOwned, Base):
    """A dealer's user read an announcement (first time only)."""

    __tablename__ = "announcement_reads"

    announcement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    read_at: Mapped[datetime]
