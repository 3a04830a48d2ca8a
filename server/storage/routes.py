"""The local backend's stand-in for S3: presigned POST uploads and presigned GET downloads."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter

from server.apidocs.bodies import PRESIGNED_UPLOAD
from server.errors import Invalid, NotFound
from server.schemas import path_text
from server.storage.backends import LocalStorage, ObjectStorage
from server.text import LINE_RULE


def _local(state: State) -> LocalStorage:
    storage: ObjectStorage = state.storage
    if not isinstance(storage, LocalStorage):
        raise NotFound()
    return storage


class LocalStorageController(Controller):
    path = "/storage"
    tags = ["storage"]

    @post(
        "/upload",
        status_code=204,
        summary="Upload a file with a presigned form (local storage)",
        request_max_body_size=64 * 1024 * 1024,
        operation_class=PRESIGNED_UPLOAD,
        opt={"problems": (403,)},
    )
    async def upload(
        self,
        state: State,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> None:
        """Accept a ``wx.uploadFile`` multipart POST carrying the fields of a presigned form."""
        storage = _local(state)
        upload = data.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid(
                "upload_file_missing",
                "缺少上传文件",
                "The form has no file field",
                errors=[{"key": "file", "message": "必填", "message_en": "required"}],
            )
        fields = {k: v for k, v in data.items() if isinstance(v, str)}
        content = await upload.read(storage.settings.max_upload_bytes + 1)
        key, content_type = storage.verify_upload(fields, len(content), content[:32])
        await storage.put(key, content, content_type)

    @get("/files/{key:path}", summary="Download a file with a presigned link (local storage)")
    async def download(
        self,
        state: State,
        key: Annotated[str, path_text(1024)],
        expires: Annotated[int, QueryParameter(name="expires", ge=0, le=2**63 - 1)],
        signature: Annotated[
            str, QueryParameter(name="signature", max_length=128, pattern=LINE_RULE)
        ],
    ) -> Response[bytes]:
        """Serve a stored object when the link's signature and expiry hold."""
        storage = _local(state)
        object_key = key.lstrip("/")
        storage.verify_download(object_key, expires, signature)
        body = await storage.get(object_key)
        from server.storage.backends import sniff_content_type

        return Response(
            body,
            media_type=sniff_content_type(body) or "application/octet-stream",
            headers={"Cache-Control": "private, max-age=300"},
        )
