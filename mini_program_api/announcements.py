"""A dealer's announcements (公告): list, read one, mark read, download an attachment."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from server.announcements import (
    attachment_link,
    dealer_announcement,
    dealer_announcements,
    mark_read,
    notice_out,
)
from server.announcements.schemas import AttachmentLinkOut, NoticeOut, ReadOut
from server.db.base import utcnow
from server.identity.guards import requires_dealer
from server.identity.principal import Principal


class AnnouncementController(Controller):
    path = "/mp/announcements"
    tags = ("mini-program: announcements",)
    guards = (requires_dealer,)

    @get("/", summary="My announcements")
    async def list_(
        self, db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> list[NoticeOut]:
        """Announcements for my dealer, not expired, pinned first then newest, with my read time."""
        rows = await dealer_announcements(db_session, principal, utcnow())
        return [notice_out(a, read_at) for a, read_at in rows]

    @get("/{announcement_id:uuid}", summary="One announcement", opt={"problems": (409,)})
    async def detail(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        announcement_id: FromPath[uuid.UUID],
    ) -> NoticeOut:
        """One announcement for my dealer (404 when not for it, 409 once expired)."""
        a = await dealer_announcement(db_session, principal, announcement_id, utcnow())
        return notice_out(a)

    @post(
        "/{announcement_id:uuid}/read",
        summary="Mark an announcement read",
        status_code=200,
        opt={"problems": (409,)},
    )
    async def read(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        announcement_id: FromPath[uuid.UUID],
    ) -> ReadOut:
        """Record that I read it (a repeat answers my first read); offline: ``announcement.read``."""
        return await mark_read(db_session, principal, announcement_id, utcnow())

    @get(
        "/{announcement_id:uuid}/attachments/{attachment_id:uuid}",
        summary="Download link of an attachment",
        opt={"problems": (409,)},
    )
    async def attachment(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        announcement_id: FromPath[uuid.UUID],
        attachment_id: FromPath[uuid.UUID],
    ) -> AttachmentLinkOut:
        """A presigned link to one attachment of an announcement for my dealer."""
        a = await dealer_announcement(db_session, principal, announcement_id, utcnow())
        return AttachmentLinkOut(url=attachment_link(state.storage, a, attachment_id))
