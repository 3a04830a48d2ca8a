"""Object storage: presigned POST uploads (wx.uploadFile) and presigned GET downloads.

The local backend is served by the app; the S3 backend talks to a real SeaweedFS, which
checks request signatures (a tampered or expired link gets 403).
"""

from __future__ import annotations

import asyncio
import io
import uuid
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image

from server.settings import Settings, StorageSettings
from server.storage.backends import LocalStorage, S3Storage

Client = AsyncTestClient[Litestar]


def jpeg_bytes(size: tuple[int, int] = (32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def local(settings: Settings, tmp_path: Path, ttl: int = 900) -> LocalStorage:
    config = StorageSettings(
        local_dir=str(tmp_path / "storage"), max_upload_bytes=64 * 1024, presign_ttl_seconds=ttl
    )
    return LocalStorage(config, "http://testserver.local", settings.auth.jwt_secret)


def form_files(
    fields: dict[str, str], body: bytes, content_type: str = "image/jpeg"
) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    return fields, {"file": ("receipt.jpg", body, content_type)}


async def test_local_presigned_upload_and_download(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    storage = local(settings, tmp_path)
    client.app.state.storage = storage
    form = storage.presign_upload("receipts/r1.jpg", "image/jpeg")
    data, files = form_files(form.fields, jpeg_bytes())
    response = await client.post("/storage/upload", data=data, files=files)
    assert response.status_code == 204, response.text
    url = storage.presign_download("receipts/r1.jpg")
    download = await client.get(url.removeprefix("http://testserver.local"))
    assert download.status_code == 200
    assert download.content == jpeg_bytes()
    assert download.headers["content-type"] == "image/jpeg"


async def test_local_upload_refusals(client: Client, settings: Settings, tmp_path: Path) -> None:
    storage = local(settings, tmp_path)
    client.app.state.storage = storage
    form = storage.presign_upload("receipts/r2.jpg", "image/jpeg")
    tampered = {**form.fields, "key": "receipts/other.jpg"}
    response = await client.post(
        "/storage/upload", data=tampered, files={"file": ("x.jpg", jpeg_bytes(), "image/jpeg")}
    )
    assert (response.status_code, response.json()["code"]) == (403, "upload_signature_invalid")
    html = await client.post(
        "/storage/upload",
        data=form.fields,
        files={"file": ("x.jpg", b"<html>hi</html>", "image/jpeg")},
    )
    assert (html.status_code, html.json()["code"]) == (422, "upload_type_invalid")
    big = await client.post(
        "/storage/upload",
        data=form.fields,
        files={"file": ("x.jpg", b"\xff\xd8\xff" + b"0" * 70_000, "image/jpeg")},
    )
    assert (big.status_code, big.json()["code"]) == (422, "upload_size_invalid")
    missing = await client.post("/storage/upload", data=form.fields)
    assert missing.status_code in (400, 422)
    assert not await storage.exists("receipts/r2.jpg")
    expired_storage = local(settings, tmp_path, ttl=-1)
    client.app.state.storage = expired_storage
    old = expired_storage.presign_upload("receipts/r3.jpg", "image/jpeg")
    gone = await client.post(
        "/storage/upload", data=old.fields, files={"file": ("x.jpg", jpeg_bytes(), "image/jpeg")}
    )
    assert (gone.status_code, gone.json()["code"]) == (403, "upload_expired")


async def test_local_download_refusals(client: Client, settings: Settings, tmp_path: Path) -> None:
    storage = local(settings, tmp_path)
    client.app.state.storage = storage
    await storage.put("receipts/r4.jpg", jpeg_bytes(), "image/jpeg")
    url = storage.presign_download("receipts/r4.jpg").removeprefix("http://testserver.local")
    tampered = url.replace("r4.jpg", "r5.jpg")
    assert (await client.get(tampered)).status_code == 403
    expired = storage.presign_download("receipts/r4.jpg", ttl_seconds=-5).removeprefix(
        "http://testserver.local"
    )
    response = await client.get(expired)
    assert (response.status_code, response.json()["code"]) == (403, "download_expired")


def test_keys_cannot_escape_the_storage_root(settings: Settings, tmp_path: Path) -> None:
    storage = local(settings, tmp_path)
    for key in ("../etc/passwd", "/abs/path", "a/../../b", "", "空格 key"):
        with pytest.raises(Exception) as info:
            storage.presign_upload(key, "image/jpeg")
        assert getattr(info.value, "code", "") == "storage_key_invalid"


@pytest.fixture
def s3(s3_endpoint: str) -> S3Storage:
    storage = S3Storage(
        StorageSettings(
            backend="s3",
            s3_endpoint_url=s3_endpoint,
            s3_bucket="channelhub-test",
            s3_access_key="channelhub-test",
            s3_secret_key="channelhub-test-secret",
            max_upload_bytes=64 * 1024,
            presign_ttl_seconds=60,
        )
    )
    storage.ensure_bucket()
    return storage


async def test_s3_presigned_post_then_get(s3: S3Storage) -> None:
    key = f"receipts/{uuid.uuid4()}.jpg"
    form = s3.presign_upload(key, "image/jpeg")
    body = jpeg_bytes()
    async with httpx.AsyncClient() as http:
        upload = await http.post(
            form.url, data=form.fields, files={"file": ("r.jpg", body, "image/jpeg")}
        )
        assert upload.status_code in (200, 201, 204), upload.text
        download = await http.get(s3.presign_download(key))
    assert download.status_code == 200
    assert download.content == body
    assert await s3.get(key) == body
    assert await s3.exists(key)
    await s3.check()


async def test_s3_refuses_tampered_and_expired_links(s3: S3Storage) -> None:
    key = f"receipts/{uuid.uuid4()}.jpg"
    await s3.put(key, jpeg_bytes(), "image/jpeg")
    url = s3.presign_download(key)
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).status_code == 200
        other = url.replace(key, f"receipts/{uuid.uuid4()}.jpg")
        assert (await http.get(other)).status_code == 403
        signature_at = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
        flipped = (
            url[:signature_at]
            + ("0" if url[signature_at] != "0" else "1")
            + url[signature_at + 1 :]
        )
        assert (await http.get(flipped)).status_code == 403
        expiring = s3.presign_download(key, ttl_seconds=1)
        await asyncio.sleep(2.1)
        assert (await http.get(expiring)).status_code == 403


async def test_s3_post_policy_limits_size_and_type(s3: S3Storage) -> None:
    key = f"receipts/{uuid.uuid4()}.jpg"
    form = s3.presign_upload(key, "image/jpeg", max_bytes=1024)
    async with httpx.AsyncClient() as http:
        too_big = await http.post(
            form.url,
            data=form.fields,
            files={"file": ("r.jpg", b"\xff\xd8\xff" + b"0" * 4096, "image/jpeg")},
        )
        assert too_big.status_code in (400, 403), too_big.text
        wrong_type = {**form.fields, "Content-Type": "text/html"}
        refused = await http.post(
            form.url, data=wrong_type, files={"file": ("r.html", b"<html></html>", "text/html")}
        )
        assert refused.status_code in (400, 403), refused.text
        other_key = {**form.fields, "key": f"receipts/{uuid.uuid4()}.jpg"}
        forged = await http.post(
            form.url, data=other_key, files={"file": ("r.jpg", jpeg_bytes(), "image/jpeg")}
        )
        assert forged.status_code in (400, 403), forged.text
    assert not await s3.exists(key)
