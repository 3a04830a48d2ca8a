"""Links the server hands out follow the address the client used, or the configured one."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import AsyncTestClient

from server.addressing import request_base_url
from server.app import create_app
from server.db.engine import Database
from server.settings import Settings
from tests.conftest import make_settings
from tests.factories import bearer, make_sku, make_user
from tests.fakes.wechat import FakeWechat


def scope(host: str, client: str, **headers: str) -> dict[str, object]:
    raw = [(b"host", host.encode())] + [
        (k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()
    ]
    return {"scheme": "http", "headers": raw, "client": (client, 50000)}


def test_forwarded_headers_count_only_from_trusted_proxies() -> None:
    trusted = ("127.0.0.1",)
    assert request_base_url(scope("10.0.0.5:8000", "10.0.0.9"), trusted) == "http://10.0.0.5:8000"
    forwarded = {"x_forwarded_proto": "https", "x_forwarded_host": "api.example.cn"}
    assert request_base_url(scope("app:8000", "127.0.0.1", **forwarded), trusted) == (
        "https://api.example.cn"
    )
    assert request_base_url(scope("app:8000", "203.0.113.7", **forwarded), trusted) == (
        "http://app:8000"
    )
    assert request_base_url(scope("evil.com/x@y", "10.0.0.9"), trusted) is None


async def presigned_url(settings: Settings, host: str, **headers: str) -> str:
    app = create_app(settings)
    db = Database(settings.database)
    try:
        admin = await make_user(db)
        sku = await make_sku(db)
    finally:
        await db.dispose()
    async with AsyncTestClient(app, base_url=f"http://{host}") as client:
        answer = await client.post(
            f"/hq/catalog/skus/{sku.id}/images",
            json={"contentType": "image/jpeg"},
            headers={**bearer(settings, admin), **headers},
        )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["url"])


async def test_upload_links_follow_the_client_or_the_setting(
    database_url: str, tmp_path: Path, fake_wechat: FakeWechat
) -> None:
    following = make_settings(database_url, tmp_path, fake_wechat.base_url, public_base_url=None)
    assert await presigned_url(following, "192.168.1.20:9000") == (
        "http://192.168.1.20:9000/storage/upload"
    )
    fixed = make_settings(
        database_url, tmp_path, fake_wechat.base_url, public_base_url="https://api.example.cn/"
    )
    assert await presigned_url(fixed, "192.168.1.20:9000") == (
        "https://api.example.cn/storage/upload"
    )
