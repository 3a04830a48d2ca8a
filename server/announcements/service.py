"""HQ's announcement lifecycle: draft -> published -> withdrawn.

Invariants: a published announcement's text, audience and attachments never change (a
correction is a new announcement); publishing and withdrawing each append a decision to the
approval trail and publish to the announcement's sync scopes in the same transaction (an
upsert, then a delete), and both are idempotent; an announcement past its expiry is not
shown to dealers and cannot be published.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.announcements.attachments import check_uploads
from server.announcements.audience import audience_of, checked_targets, sync_scopes
from server.announcements.models import Announcement, AnnouncementStatus
from server.announcements.schemas import AnnouncementIn, AnnouncementOut, AttachmentOut, NoticeOut
from server.audit import record
from server.db.repository import get_or_404
from server.errors import Conflict, Invalid
from server.identity.principal import Principal
from server.notifications import EventKind, notify
from server.storage import ObjectStorage
from server.trail import note_decision
from sync import publish

_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def attachments_out(a: Announcement) -> list[AttachmentOut]:
    return [
        AttachmentOut(id=f.id, file_name=f.file_name, content_type=f.content_type, size=f.size)
        for f in a.attachments
    ]


def announcement_out(a: Announcement) -> AnnouncementOut:
    return AnnouncementOut(
        id=a.id,
        status=str(a.status),
        title_zh=a.title_zh,
        title_en=a.title_en,
        body_zh=a.body_zh,
        body_en=a.body_en,
        audience=str(a.audience),
        targets=list(a.targets),
        pinned=a.pinned,
        expires_at=a.expires_at,
        published_at=a.published_at,
        withdrawn_at=a.withdrawn_at,
        created_at=a.created_at,
        attachments=attachments_out(a),
    )


def notice_out(a: Announcement, read_at: datetime | None = None) -> NoticeOut:
    return NoticeOut(
        id=a.id,
        title_zh=a.title_zh,
        title_en=a.title_en,
        body_zh=a.body_zh,
        body_en=a.body_en,
        pinned=a.pinned,
        expires_at=a.expires_at,
        published_at=a.published_at,
        attachments=attachments_out(a),
        read_at=read_at,
    )


def utc(value: datetime | None) -> datetime | None:
    """A time without an offset is read as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def is_expired(a: Announcement, now: datetime) -> bool:
    return a.expires_at is not None and utc(a.expires_at) <= now  # type: ignore[operator]


def _expired() -> Invalid:
    return Invalid(
        "announcement_expired",
        "公告的有效期已过",
        "The announcement's expiry has passed",
        errors=[
            {
                "key": "expiresAt",
                "message": "须晚于当前时间",
                "message_en": "must be later than now",
            }
        ],
    )


def _check_text(body: AnnouncementIn, now: datetime) -> None:
    """At least one language with both title and body; a language is whole or absent."""
    errors: list[dict[str, Any]] = []
    languages = (("Zh", body.title_zh, body.body_zh), ("En", body.title_en, body.body_en))
    for suffix, title, text in languages:
        if bool(title.strip()) != bool(text.strip()):
            key = f"title{suffix}" if not title.strip() else f"body{suffix}"
            errors.append(
                {
                    "key": key,
                    "message": "标题与正文须同时填写",
                    "message_en": "title and body go together",
                }
            )
    if not any(title.strip() for _, title, _ in languages) and not errors:
        errors.append(
            {
                "key": "titleZh",
                "message": "请填写中文或英文的标题与正文",
                "message_en": "write it in Chinese or English",
            }
        )
    if errors:
        raise Invalid("announcement_invalid", "公告内容无效", "Invalid announcement", errors=errors)
    expires_at = utc(body.expires_at)
    if expires_at is not None and expires_at >= _LATEST:
        raise Invalid(
            "announcement_invalid", "有效期须早于 2100 年", "The expiry must be before 2100"
        )
    if expires_at is not None and expires_at <= now:
        raise _expired()


async def create_announcement(
    session: AsyncSession, actor: Principal, body: AnnouncementIn, now: datetime
) -> Announcement:
    """A new draft (targets must exist; 422 names each unknown one)."""
    _check_text(body, now)
    targets = await checked_targets(session, body.audience, body.targets)
    a = Announcement(
        id=uuid.uuid4(),
        status=AnnouncementStatus.DRAFT,
        title_zh=body.title_zh.strip(),
        title_en=body.title_en.strip(),
        body_zh=body.body_zh,
        body_en=body.body_en,
        audience=body.audience,
        targets=targets,
        pinned=body.pinned,
        expires_at=utc(body.expires_at),
        created_by=actor.user_id,
        attachments=[],
    )
    session.add(a)
    await session.flush()
    record(
        session, actor, "announcement.created", "announcement", a.id, {"audience": str(a.audience)}
    )
    return a


async def get_announcement(
    session: AsyncSession, announcement_id: uuid.UUID, *, lock: bool = False
) -> Announcement:
    return await get_or_404(session, Announcement, announcement_id, "announcement", for_update=lock)


async def list_announcements(
    session: AsyncSession, status: AnnouncementStatus | None = None
) -> Sequence[Announcement]:
    """Every announcement, pinned first, newest first."""
    stmt = select(Announcement).order_by(Announcement.pinned.desc(), Announcement.created_at.desc())
    if status is not None:
        stmt = stmt.where(Announcement.status == status)
    return (await session.execute(stmt)).scalars().all()


def _note(session: AsyncSession, actor: Principal, a: Announcement, outcome: str) -> None:
    """The decision in the approval trail; the state hashed is the announcement as HQ sees it."""
    state = msgspec.to_builtins(announcement_out(a))
    note_decision(session, actor, "announcement", a.id, outcome, state)


async def _publish(session: AsyncSession, a: Announcement, op: Literal["upsert", "delete"]) -> None:
    payload = msgspec.to_builtins(notice_out(a)) if op == "upsert" else None
    for scope in sync_scopes(a):
        await publish(session, scope, "announcement", str(a.id), op, payload)


async def announcement_published(session: AsyncSession, a: Announcement) -> None:
    """The one place a published announcement is announced beyond sync: every dealer it is
    for gets an inbox item, and its WeChat users holding an authorization a subscription
    message (``server.notifications``; once per announcement). Runs in the publishing
    transaction, after the sync publication."""
    title = a.title_zh or a.title_en
    summary = " ".join((a.body_zh or a.body_en).split())[:60]
    await notify(
        session,
        EventKind.ANNOUNCEMENT,
        str(a.id),
        dealer_ids=sorted(await audience_of(session, a), key=str),
        params={"title": title, "summary": summary, "status": "new", "at": a.published_at},
    )


async def publish_announcement(
    session: AsyncSession,
    storage: ObjectStorage,
    actor: Principal,
    announcement_id: uuid.UUID,
    now: datetime,
) -> Announcement:
    """Send a draft to its dealers (sync and realtime poke); its attachments must be uploaded."""
    a = await get_announcement(session, announcement_id, lock=True)
    if a.status is AnnouncementStatus.PUBLISHED:
        return a
    if a.status is AnnouncementStatus.WITHDRAWN:
        raise Conflict("announcement_withdrawn", "公告已撤回", "The announcement was withdrawn")
    if is_expired(a, now):
        raise _expired()
    await check_uploads(storage, a.attachments)
    a.status = AnnouncementStatus.PUBLISHED
    a.published_at = now
    await session.flush()
    record(session, actor, "announcement.published", "announcement", a.id, {})
    _note(session, actor, a, "published")
    await _publish(session, a, "upsert")
    await announcement_published(session, a)
    return a


async def withdraw_announcement(
    session: AsyncSession, actor: Principal, announcement_id: uuid.UUID, now: datetime
) -> Announcement:
    """Take an announcement back: dealers' nodes receive a delete (idempotent)."""
    a = await get_announcement(session, announcement_id, lock=True)
    if a.status is AnnouncementStatus.WITHDRAWN:
        return a
    was_live = a.status is AnnouncementStatus.PUBLISHED
    a.status = AnnouncementStatus.WITHDRAWN
    a.withdrawn_at = now
    await session.flush()
    record(session, actor, "announcement.withdrawn", "announcement", a.id, {})
    _note(session, actor, a, "withdrawn")
    if was_live:
        await _publish(session, a, "delete")
    return a
