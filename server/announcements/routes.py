"""HQ administration of announcements: drafts, attachments, publish, withdraw, read receipts."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from server.announcements import attachments, reads, service
from server.announcements.models import AnnouncementStatus
from server.announcements.schemas import (
    AnnouncementIn,
    AnnouncementOut,
    AttachmentFormOut,
    AttachmentIn,
    ReadReportOut,
)
from server.db.base import utcnow
from server.identity.guards import requires_hq
from server.identity.principal import Principal


class AnnouncementController(Controller):
    path = "/hq/announcements"
    tags = ("hq: announcements",)
    guards = (requires_hq,)

    @get("/", summary="List announcements")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[AnnouncementStatus | None] = None,
    ) -> list[AnnouncementOut]:
        """Every announcement, pinned first then newest, optionally of one status."""
        rows = await service.list_announcements(db_session, status)
        return [service.announcement_out(a) for a in rows]

    @post("/", summary="Create an announcement (draft)")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[AnnouncementIn],
    ) -> AnnouncementOut:
        """A draft: title and body (zh-CN, English or both), audience, pinning, expiry."""
        a = await service.create_announcement(db_session, principal, data, utcnow())
        return service.announcement_out(a)

    @get("/{announcement_id:uuid}", summary="Get an announcement")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], announcement_id: FromPath[uuid.UUID]
    ) -> AnnouncementOut:
        """One announcement, its audience and attachments."""
        a = await service.get_announcement(db_session, announcement_id)
        return service.announcement_out(a)

    @post(
        "/{announcement_id:uuid}/attachments",
        summary="Presign an attachment upload",
        status_code=200,
        opt={"problems": (409,)},
    )
    async def attach(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        announcement_id: FromPath[uuid.UUID],
        data: JSONBody[AttachmentIn],
    ) -> AttachmentFormOut:
        """A presigned POST form for one file of a draft (10 MB at most; images or PDF)."""
        return await attachments.presign_attachment(
            db_session, state.storage, announcement_id, data
        )

    @post(
        "/{announcement_id:uuid}/publish",
        summary="Publish an announcement",
        status_code=200,
        opt={"problems": (409,)},
    )
    async def publish(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        announcement_id: FromPath[uuid.UUID],
    ) -> AnnouncementOut:
        """Send a draft to its dealers through sync (idempotent); attachments must be uploaded."""
        a = await service.publish_announcement(
            db_session, state.storage, principal, announcement_id, utcnow()
        )
        return service.announcement_out(a)

    @post("/{announcement_id:uuid}/withdraw", summary="Withdraw an announcement", status_code=200)
    async def withdraw(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        announcement_id: FromPath[uuid.UUID],
    ) -> AnnouncementOut:
        """Take it back: dealers' nodes receive a delete (idempotent)."""
        a = await service.withdraw_announcement(db_session, principal, announcement_id, utcnow())
        return service.announcement_out(a)

    @get("/{announcement_id:uuid}/reads", summary="Who has read an announcement")
    async def read_report(
        self, db_session: NamedDependency[AsyncSession], announcement_id: FromPath[uuid.UUID]
    ) -> ReadReportOut:
        """Every active dealer it is for, with when one of its users first read it."""
        return await reads.read_report(db_session, announcement_id)
