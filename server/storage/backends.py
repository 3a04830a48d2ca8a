"""Object storage: a local directory by default, any S3 API through boto3.

Uploads from ``wx.uploadFile`` are multipart POSTs, so both backends hand out *presigned
POST* forms (URL + fields) with a size range, a fixed content type and an expiry; downloads
are presigned GET URLs. The local backend signs its forms with HMAC and serves them itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import anyio
import anyio.to_thread
import msgspec

from server.addressing import public_base_url
from server.errors import Forbidden, Invalid, NotFound
from server.settings import StorageSettings

_SAFE_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./")


class PresignedPost(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    url: str
    fields: dict[str, str]
    key: str
    expires_at: int
    max_bytes: int


class ObjectStorage(Protocol):
    def presign_upload(
        self, key: str, content_type: str, max_bytes: int | None = None
    ) -> PresignedPost: ...
    def presign_download(self, key: str, ttl_seconds: int | None = None) -> str: ...
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...
    async def get(self, key: str) -> bytes: ...
    async def exists(self, key: str) -> bool: ...
    async def check(self) -> None: ...


def validate_key(key: str) -> str:
    if (
        not key
        or len(key) > 512
        or key.startswith("/")
        or ".." in key.split("/")
        or not set(key) <= _SAFE_KEY_CHARS
    ):
        raise Invalid("storage_key_invalid", "文件路径不合法", "Invalid object key")
    return key


def sniff_content_type(data: bytes) -> str | None:
    """The real type of an upload from its first bytes (the declared type is not trusted)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1"):
        return "image/heic"
    if data.startswith(b"%PDF"):
        return "application/pdf"
    return None


class LocalStorage:
    """Files under a directory; presigned forms and links are HMAC-signed by this server."""

    def __init__(self, settings: StorageSettings, base_url: str | None, secret: str) -> None:
        self.settings = settings
        self.root = Path(settings.local_dir).resolve()
        self.configured_base_url = base_url
        self._key = hashlib.sha256(b"channelhub-storage:" + secret.encode()).digest()

    @property
    def base_url(self) -> str:
        """Configured, else the address the current request was sent to."""
        return public_base_url(self.configured_base_url)

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode("utf-8", "replace"), hashlib.sha256).hexdigest()

    def _signed(self, payload: str, signature: str) -> bool:
        return hmac.compare_digest(
            self._sign(payload).encode(), signature.encode("utf-8", "replace")
        )

    def presign_upload(
        self, key: str, content_type: str, max_bytes: int | None = None
    ) -> PresignedPost:
        validate_key(key)
        limit = min(max_bytes or self.settings.max_upload_bytes, self.settings.max_upload_bytes)
        expires = int(time.time()) + self.settings.presign_ttl_seconds
        policy = base64.urlsafe_b64encode(
            json.dumps(
                {"key": key, "content_type": content_type, "max_bytes": limit, "expires": expires},
                separators=(",", ":"),
            ).encode()
        ).decode()
        return PresignedPost(
            url=f"{self.base_url}/storage/upload",
            fields={
                "key": key,
                "Content-Type": content_type,
                "policy": policy,
                "signature": self._sign(policy),
            },
            key=key,
            expires_at=expires,
            max_bytes=limit,
        )

    def verify_upload(self, fields: dict[str, str], size: int, head: bytes) -> tuple[str, str]:
        """Check a presigned form: signature, expiry, key, size and real content type."""
        policy_text, signature = fields.get("policy", ""), fields.get("signature", "")
        if not self._signed(policy_text, signature):
            raise Forbidden("upload_signature_invalid", "上传签名无效", "Upload signature invalid")
        try:
            policy = json.loads(base64.urlsafe_b64decode(policy_text))
        except ValueError as exc:
            raise Forbidden(
                "upload_signature_invalid", "上传签名无效", "Upload signature invalid"
            ) from exc
        if policy["expires"] < time.time():
            raise Forbidden("upload_expired", "上传链接已过期", "Upload form expired")
        if fields.get("key") != policy["key"]:
            raise Forbidden("upload_signature_invalid", "上传签名无效", "Upload signature invalid")
        if size <= 0 or size > policy["max_bytes"]:
            raise Invalid(
                "upload_size_invalid",
                "文件大小不符合要求",
                "File size out of the allowed range",
                maxBytes=policy["max_bytes"],
            )
        if sniff_content_type(head) != policy["content_type"]:
            raise Invalid(
                "upload_type_invalid",
                "文件类型与声明不符",
                "File content does not match its declared type",
            )
        return policy["key"], policy["content_type"]

    def presign_download(self, key: str, ttl_seconds: int | None = None) -> str:
        validate_key(key)
        expires = int(time.time()) + (ttl_seconds or self.settings.presign_ttl_seconds)
        query = urlencode({"expires": expires, "signature": self._sign(f"{key}\n{expires}")})
        return f"{self.base_url}/storage/files/{quote(key)}?{query}"

    def verify_download(self, key: str, expires: int, signature: str) -> None:
        if not self._signed(f"{key}\n{expires}", signature):
            raise Forbidden(
                "download_signature_invalid", "下载签名无效", "Download signature invalid"
            )
        if expires < time.time():
            raise Forbidden("download_expired", "下载链接已过期", "Download link expired")

    def _path(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        if self.root not in path.parents:
            raise Invalid("storage_key_invalid", "文件路径不合法", "Invalid object key")
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        await anyio.to_thread.run_sync(_write_atomically, path, data)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await anyio.Path(path).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound("object_not_found", "文件不存在", "File not found") from exc

    async def exists(self, key: str) -> bool:
        return await anyio.Path(self._path(key)).exists()

    async def check(self) -> None:
        await anyio.to_thread.run_sync(_check_writable, self.root)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def _check_writable(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    probe = root / ".ready"
    probe.write_bytes(b"ok")


class S3Storage:
    """Any S3 API (AWS S3, Aliyun OSS, MinIO, SeaweedFS) through boto3."""

    def __init__(self, settings: StorageSettings) -> None:
        import boto3
        from botocore.config import Config

        self.settings = settings
        self.bucket = settings.s3_bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 2},
                connect_timeout=3,
                read_timeout=10,
            ),
        )

    def presign_upload(
        self, key: str, content_type: str, max_bytes: int | None = None
    ) -> PresignedPost:
        validate_key(key)
        limit = min(max_bytes or self.settings.max_upload_bytes, self.settings.max_upload_bytes)
        ttl = self.settings.presign_ttl_seconds
        form = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, limit]],
            ExpiresIn=ttl,
        )
        return PresignedPost(
            url=form["url"],
            fields=dict(form["fields"]),
            key=key,
            expires_at=int(time.time()) + ttl,
            max_bytes=limit,
        )

    def presign_download(self, key: str, ttl_seconds: int | None = None) -> str:
        validate_key(key)
        return str(
            self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=ttl_seconds or self.settings.presign_ttl_seconds,
            )
        )

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        validate_key(key)
        await anyio.to_thread.run_sync(
            lambda: self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
            )
        )

    async def get(self, key: str) -> bytes:
        validate_key(key)

        def fetch() -> bytes:
            try:
                return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            except self.client.exceptions.NoSuchKey as exc:
                raise NotFound("object_not_found", "文件不存在", "File not found") from exc

        return await anyio.to_thread.run_sync(fetch)

    async def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        def head() -> bool:
            try:
                self.client.head_object(Bucket=self.bucket, Key=key)
                return True
            except ClientError:
                return False

        return await anyio.to_thread.run_sync(head)

    async def check(self) -> None:
        await anyio.to_thread.run_sync(lambda: self.client.head_bucket(Bucket=self.bucket))

    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)


def create_storage(
    settings: StorageSettings, base_url: str | None, secret: str
) -> LocalStorage | S3Storage:
    if settings.backend == "s3":
        return S3Storage(settings)
    return LocalStorage(settings, base_url, secret)
