"""No configured or issued secret appears in a log line, a problem body or /metrics.

Every log line is captured (structlog and stdlib, every logger at DEBUG, httpx and botocore
included) while the app runs a WeChat login, a failed password login, a token refresh, an S3
upload and download (when the suite's S3 server is up) and a webhook delivery.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.db.engine import Database
from server.db.session import transaction
from server.identity.models import Role
from server.observability import QUIET_LOGGERS, configure_logging
from server.settings import Settings, StorageSettings
from server.storage.backends import S3Storage
from sync import deliver_due_webhooks, publish
from tests.conftest import S3_URL, make_settings
from tests.factories import bearer, make_dealer, make_user
from tests.fakes.wechat import SECRET as WECHAT_SECRET
from tests.fakes.wechat import FakeWechat
from tests.server.test_storage import jpeg_bytes
from tests.sync.conftest import LiveServer

PASSWORD = "hunter2-correct-horse"
S3_SECRET = "channelhub-test-secret"
SESSION_KEY = "c2Vzc2lvbg=="  # what the fake code2Session answers
QUERY_TOKEN = "erp-query-token-0123456789"


class Receiver:
    """A dealer ERP that accepts every webhook."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def s3_settings(database_url: str, tmp_path: Path, fake_wechat: FakeWechat) -> Settings:
    storage = StorageSettings(local_dir=str(tmp_path / "storage"))
    if S3_URL:
        storage = StorageSettings(
            backend="s3",
            s3_endpoint_url=S3_URL,
            s3_bucket="channelhub-test",
            s3_access_key="channelhub-test",
            s3_secret_key=S3_SECRET,
        )
    return make_settings(
        database_url, tmp_path, fake_wechat.base_url, storage=storage, log_level="DEBUG"
    )


@pytest.fixture
def loud_libraries() -> Iterator[None]:
    """The loggers the app quiets, restored to their levels afterwards."""
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def test_no_secret_in_logs_bodies_or_metrics(
    s3_settings: Settings, caplog: pytest.LogCaptureFixture, loud_libraries: None
) -> None:
    app = create_app(s3_settings)
    captured = io.StringIO()
    configure_logging(s3_settings, captured)  # the app's own configuration, into a buffer
    for name in QUIET_LOGGERS:  # every level of every library, so the redaction is what holds
        logging.getLogger(name).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    db = Database(s3_settings.database)
    secrets: set[str] = {s3_settings.auth.jwt_secret, WECHAT_SECRET, SESSION_KEY, PASSWORD}
    bodies: list[str] = []
    try:
        async with AsyncTestClient(app, base_url="http://testserver.local") as client:
            secrets |= await _logins(client, db, s3_settings, bodies)
            if S3_URL:
                secrets |= await _s3_round_trip(s3_settings)
                secrets.add(S3_SECRET)
            secrets |= await _webhook_delivery(client, db, s3_settings, bodies)
            metrics = await client.get("/metrics")
            assert metrics.status_code == 200
            bodies.append(metrics.text)
    finally:
        await db.dispose()
    logs = captured.getvalue() + "\n" + caplog.text
    assert "jscode2session" in logs  # the WeChat call was logged: the net was really cast
    assert len(logs.splitlines()) > 20
    found = sorted(s for s in secrets if s and (s in logs or any(s in b for b in bodies)))
    assert found == [], f"{len(found)} secret(s) found in logs or bodies"


async def _logins(
    client: AsyncTestClient[Litestar], db: Database, settings: Settings, bodies: list[str]
) -> set[str]:
    """WeChat login, a failed and a good password login, a refresh; returns issued tokens."""
    dealer = await make_dealer(db)
    await make_user(db, Role.DEALER_ADMIN, dealer, openid="openid-leaky")
    wechat = await client.post("/mp/auth/wechat/login", json={"code": "ok-leaky"})
    assert wechat.status_code == 201, wechat.text
    username = f"leak-{uuid.uuid4().hex[:8]}"
    await make_user(db, Role.HQ_ADMIN, username=username, password=PASSWORD)
    wrong = await client.post(
        "/auth/login", json={"username": username, "password": PASSWORD + "-wrong"}
    )
    assert wrong.status_code == 401
    bodies.append(wrong.text)
    good = await client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert good.status_code == 201, good.text
    refresh_token = good.json()["refreshToken"]
    rotated = await client.post("/auth/refresh", json={"refreshToken": refresh_token})
    assert rotated.status_code == 201, rotated.text
    replayed = await client.post("/auth/refresh", json={"refreshToken": refresh_token})
    assert replayed.status_code == 401
    bodies.append(replayed.text)
    bad_token = await client.get("/hq/dealers", headers={"Authorization": "Bearer " + "x" * 40})
    bodies.append(bad_token.text)
    tokens = wechat.json().get("tokens") or {}
    return {
        PASSWORD + "-wrong",
        refresh_token,
        rotated.json()["refreshToken"],
        good.json()["accessToken"],
        str(tokens.get("accessToken", "")),
        str(tokens.get("refreshToken", "")),
    }


async def _s3_round_trip(settings: Settings) -> set[str]:
    """Presigned POST upload and presigned GET through botocore; returns the signatures."""
    storage = S3Storage(settings.storage)
    storage.ensure_bucket()
    key = f"receipts/{uuid.uuid4()}.jpg"
    form = storage.presign_upload(key, "image/jpeg")
    link = storage.presign_download(key)
    async with httpx.AsyncClient() as http:
        upload = await http.post(
            form.url, data=form.fields, files={"file": ("r.jpg", jpeg_bytes(), "image/jpeg")}
        )
        assert upload.status_code in (200, 201, 204), upload.text
        assert (await http.get(link)).status_code == 200
    assert await storage.get(key) == jpeg_bytes()
    signature = httpx.URL(link).params["X-Amz-Signature"]
    return {signature, form.fields.get("x-amz-signature", "")}


async def _webhook_delivery(
    client: AsyncTestClient[Litestar], db: Database, settings: Settings, bodies: list[str]
) -> set[str]:
    """A signed webhook to a live receiver whose URL carries a token; returns the secrets."""
    admin = await make_user(db, Role.HQ_ADMIN)
    receiver = Receiver()
    async with LiveServer(receiver) as server:
        registered = await client.post(
            "/hq/sync/webhooks",
            json={"url": f"{server.url}/erp?token={QUERY_TOKEN}", "scopes": ["price:default"]},
            headers=bearer(settings, admin),
        )
        assert registered.status_code == 201, registered.text
        async with transaction(db) as session:
            await publish(session, "price:default", "probe", "p1", "upsert", {"n": 1})
        async with httpx.AsyncClient() as http:
            sent = await deliver_due_webhooks(db.sessionmaker, http)
    assert sent >= 1 and receiver.bodies
    forbidden = await client.get("/hq/sync/webhooks", headers={"Authorization": "Bearer nope"})
    bodies.append(forbidden.text)
    return {registered.json()["secret"], QUERY_TOKEN}
