"""Return photos: a presigned POST per photo (``wx.uploadFile`` posts it to storage), then
named by id in the return request, which checks each is there and really an image (by its
bytes, not its declared type) before anything is written."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec

from server.errors import Forbidden, Invalid
from server.identity.principal import Principal
from server.returns.schemas import PhotoPresignIn, PhotoPresignOut
from server.storage import ObjectStorage, sniff_content_type

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


def photo_key(dealer_id: uuid.UUID, photo_id: uuid.UUID) -> str:
    """Where a dealer's return photo is stored."""
    return f"returns/{dealer_id}/{photo_id}"


def _not_image(detected: str | None) -> Invalid:
    return Invalid(
        "return_photo_not_image",
        "退货照片须为 JPEG、PNG 或 WebP 格式的图片",
        "Return photos must be JPEG, PNG or WebP images",
        detected=detected,
    )


def presign_photo(
    storage: ObjectStorage, actor: Principal, body: PhotoPresignIn
) -> PhotoPresignOut:
    """A presigned POST form for one return photo (images only)."""
    if actor.dealer_id is None:
        raise Forbidden("dealer_required", "仅经销商可上传退货照片", "Only a dealer uploads these")
    if body.content_type not in IMAGE_TYPES:
        raise _not_image(body.content_type)
    form = storage.presign_upload(photo_key(actor.dealer_id, body.photo_id), body.content_type)
    return PhotoPresignOut(
        photo_id=body.photo_id,
        key=form.key,
        url=form.url,
        fields=form.fields,
        expires_at=form.expires_at,
        max_bytes=form.max_bytes,
    )


class CheckedPhoto(msgspec.Struct, frozen=True, kw_only=True):
    photo_id: uuid.UUID
    storage_key: str
    content_type: str
    size: int
    sha256: str

    def columns(self) -> dict[str, Any]:
        """The photo row's columns (besides its id)."""
        return {
            "storage_key": self.storage_key,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }


async def checked_photos(
    storage: ObjectStorage, dealer_id: uuid.UUID, photo_ids: Sequence[uuid.UUID]
) -> list[CheckedPhoto]:
    """Each named photo, uploaded and an image (422 ``upload_missing`` /
    ``return_photo_not_image`` naming the photo otherwise)."""
    out: list[CheckedPhoto] = []
    for photo_id in dict.fromkeys(photo_ids):
        key = photo_key(dealer_id, photo_id)
        if not await storage.exists(key):
            raise Invalid(
                "upload_missing",
                "照片尚未上传",
                "The photo has not been uploaded",
                photoId=str(photo_id),
            )
        data = await storage.get(key)
        kind = sniff_content_type(data[:32])
        if not data or kind not in IMAGE_TYPES:
            raise _not_image(kind)
        out.append(
            CheckedPhoto(
                photo_id=photo_id,
                storage_key=key,
                content_type=kind,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    return out
