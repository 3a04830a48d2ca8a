"""Announcement attachments: presigned uploads (like claim receipts), checked at publish.

A draft's attachment is declared first (name, type, size at most ``ATTACHMENT_MAX_BYTES``,
at most ``MAX_ATTACHMENTS`` of them); its presigned form accepts no more than the declared
size. Publishing reads each upload back and refuses one that is missing, larger than
declared or whose bytes are not of the declared type, so dealers only ever get checked files.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from server.announcements.models import Announcement, AnnouncementAttachment, AnnouncementStatus
from server.announcements.schemas import (
    ATTACHMENT_MAX_BYTES,
    MAX_ATTACHMENTS,
    AttachmentFormOut,
    AttachmentIn,
)
from server.db.repository import flush_or_conflict, get_or_404
from server.errors import Conflict, Invalid, NotFound
from server.storage import ObjectStorage, sniff_content_type


def _too_large(limit: int) -> Invalid:
    return Invalid(
        "attachment_too_large",
        f"附件不能超过 {limit // (1024 * 1024)} MB",
        f"An attachment may be at most {limit // (1024 * 1024)} MB",
        errors=[{"key": "size", "message": "文件过大", "message_en": "too large"}],
        maxBytes=limit,
    )


def attachment_key(announcement_id: uuid.UUID, attachment_id: uuid.UUID) -> str:
    return f"announcements/{announcement_id}/{attachment_id}"


def _attachment(a: Announcement, body: AttachmentIn) -> AnnouncementAttachment:
    """The draft's attachment of this id: the one declared before, or a new one."""
    for f in a.attachments:
        if f.id == body.attachment_id:
            if (f.content_type, f.size) != (str(body.content_type), body.size):
                raise Conflict(
                    "attachment_id_reused", "该附件编号已被使用", "This attachment id is taken"
                )
            return f
    if len(a.attachments) >= MAX_ATTACHMENTS:
        raise Invalid(
            "attachments_too_many",
            f"每条公告最多 {MAX_ATTACHMENTS} 个附件",
            f"At most {MAX_ATTACHMENTS} attachments per announcement",
        )
    f = AnnouncementAttachment(
        id=body.attachment_id,
        position=len(a.attachments) + 1,
        file_name=body.file_name,
        content_type=str(body.content_type),
        size=body.size,
        storage_key=attachment_key(a.id, body.attachment_id),
    )
    a.attachments.append(f)
    return f


async def presign_attachment(
    session: AsyncSession,
    storage: ObjectStorage,
    announcement_id: uuid.UUID,
    body: AttachmentIn,
) -> AttachmentFormOut:
    """A presigned POST form for one attachment of a draft (422 when it is too large)."""
    a = await get_or_404(session, Announcement, announcement_id, "announcement", for_update=True)
    if a.status is not AnnouncementStatus.DRAFT:
        raise Conflict(
            "announcement_not_draft", "只能给草稿添加附件", "Only drafts take attachments"
        )
    if body.size > ATTACHMENT_MAX_BYTES:
        raise _too_large(ATTACHMENT_MAX_BYTES)
    f = _attachment(a, body)
    form = storage.presign_upload(f.storage_key, f.content_type, max_bytes=f.size)
    if form.max_bytes < f.size:  # the storage allows less than an announcement may carry
        raise _too_large(form.max_bytes)
    await flush_or_conflict(session, "attachment_id_reused")
    return AttachmentFormOut(
        attachment_id=f.id,
        key=form.key,
        url=form.url,
        fields=form.fields,
        expires_at=form.expires_at,
        max_bytes=form.max_bytes,
    )


async def check_uploads(storage: ObjectStorage, files: Sequence[AnnouncementAttachment]) -> None:
    """Every attachment uploaded, within its declared size and of its declared type."""
    for f in files:
        if not await storage.exists(f.storage_key):
            raise Invalid(
                "attachment_missing",
                f"附件“{f.file_name}”尚未上传",
                f"The attachment {f.file_name!r} has not been uploaded",
                attachmentId=str(f.id),
            )
        data = await storage.get(f.storage_key)
        if len(data) > min(f.size, ATTACHMENT_MAX_BYTES):
            raise _too_large(ATTACHMENT_MAX_BYTES)
        if sniff_content_type(data) != f.content_type:
            raise Invalid(
                "attachment_type_invalid",
                f"附件“{f.file_name}”的内容与声明的类型不符",
                f"The attachment {f.file_name!r} is not of its declared type",
                attachmentId=str(f.id),
            )
        f.size = len(data)
        f.sha256 = hashlib.sha256(data).hexdigest()


def attachment_link(storage: ObjectStorage, a: Announcement, attachment_id: uuid.UUID) -> str:
    """A presigned download link for one of the announcement's attachments."""
    for f in a.attachments:
        if f.id == attachment_id:
            return storage.presign_download(f.storage_key)
    raise NotFound("attachment_not_found")
