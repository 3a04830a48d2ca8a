"""Settings: one frozen struct tree, built once from ``CHANNELHUB_*`` environment variables.

Nothing here reads the environment at import time; call :func:`load_settings` (the CLI does)
or build :class:`Settings` directly (the tests do).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec

PREFIX = "CHANNELHUB_"


class DatabaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    url: str = "sqlite+aiosqlite:///var/channelhub.db"
    echo: bool = False
    pool_size: int = 10


class StorageSettings(msgspec.Struct, frozen=True, kw_only=True):
    backend: Literal["local", "s3"] = "local"
    local_dir: str = "var/storage"
    s3_endpoint_url: str | None = None
    s3_bucket: str = "channelhub"
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    max_upload_bytes: int = 10 * 1024 * 1024
    upload_content_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp", "image/heic")
    presign_ttl_seconds: int = 900


class AuthSettings(msgspec.Struct, frozen=True, kw_only=True):
    jwt_secret: str
    access_ttl_seconds: int = 900
    refresh_ttl_seconds: int = 30 * 24 * 3600
    login_max_attempts: int = 5
    login_window_seconds: int = 300
    invitation_ttl_seconds: int = 7 * 24 * 3600


class WechatSettings(msgspec.Struct, frozen=True, kw_only=True):
    base_url: str = "https://api.weixin.qq.com"
    appid: str = "wx-dev-appid"
    secret: str = "wx-dev-secret"
    timeout_seconds: float = 5.0


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    auth: AuthSettings
    database: DatabaseSettings = DatabaseSettings()
    storage: StorageSettings = StorageSettings()
    wechat: WechatSettings = WechatSettings()
    redis_url: str | None = None
    dev_mode: bool = False
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    quote_valid_days: int = 7
    order_price_grace_bp: int = 50
    log_level: str = "INFO"
    log_json: bool = True
    max_body_bytes: int = 2 * 1024 * 1024
    # Links the server hands out start with this; unset, with the address the client used.
    public_base_url: str | None = None
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    # Run background jobs inside the API process (embedded default); production runs
    # `channelhub worker` processes and sets this to false.
    jobs_in_process: bool = True
    sync_retention_days: int = 30
    # Seconds between heartbeats on the realtime channels (hello's ``heartbeatInterval``).
    sync_heartbeat_seconds: Annotated[float, msgspec.Meta(gt=0)] = 25.0
    job_concurrency: int = 2


_SECTIONS = {"DATABASE": "database", "STORAGE": "storage", "AUTH": "auth", "WECHAT": "wechat"}


def _nest(env: Mapping[str, str]) -> dict[str, object]:
    """Turn ``CHANNELHUB_STORAGE_S3_BUCKET=x`` into ``{"storage": {"s3_bucket": "x"}}``."""
    tree: dict[str, object] = {}
    for name, value in env.items():
        if not name.startswith(PREFIX):
            continue
        rest = name[len(PREFIX) :]
        section, _, field = rest.partition("_")
        if section in _SECTIONS and field:
            sub = tree.setdefault(_SECTIONS[section], {})
            assert isinstance(sub, dict)
            sub[field.lower()] = value
        else:
            tree[rest.lower()] = value
    return tree


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the environment (strings are converted and validated by msgspec)."""
    source = os.environ if env is None else env
    tree = _nest(source)
    auth = tree.setdefault("auth", {})
    assert isinstance(auth, dict)
    if "jwt_secret" not in auth:
        auth["jwt_secret"] = _dev_secret()
    for key in ("upload_content_types",):
        storage = tree.get("storage")
        if isinstance(storage, dict) and isinstance(storage.get(key), str):
            storage[key] = [part.strip() for part in str(storage[key]).split(",") if part.strip()]
    if isinstance(tree.get("trusted_proxies"), str):
        proxies = str(tree["trusted_proxies"])
        tree["trusted_proxies"] = [part.strip() for part in proxies.split(",") if part.strip()]
    return msgspec.convert(tree, Settings, strict=False)


def _dev_secret() -> str:
    """A per-checkout secret kept under ./var so tokens survive restarts of `make run`."""
    path = Path("var/jwt-secret")
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    return secret
