"""Notification tests drive the job runner themselves against the fake WeChat server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.app import job_registry
from server.db.engine import Database
from server.jobs.queue import JobRunner
from server.notifications import WechatMessaging
from server.settings import Settings
from server.storage.backends import create_storage
from tests.conftest import make_settings
from tests.fakes.wechat import FakeWechat
from tests.fakes.wechat_subscribe import SubscribeState

Client = AsyncTestClient[Litestar]
ORDER_TEMPLATE = "TPL-ORDER-approved_1"
ORDER_FIELDS = {
    "character_string1": "orderNo",
    "amount2": "amount",
    "phrase3": "status",
    "time4": "at",
    "thing5": "reason",
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path, fake_wechat: FakeWechat) -> Settings:
    return make_settings(database_url, tmp_path, fake_wechat.base_url, jobs_in_process=False)


@pytest.fixture
def wechat(fake_wechat: FakeWechat) -> Iterator[SubscribeState]:
    """The fake's subscription side, empty for each test."""
    fake_wechat.subscribe.reset()
    yield fake_wechat.subscribe
    fake_wechat.subscribe.reset()


@pytest.fixture
async def messaging(settings: Settings, db: Database) -> AsyncIterator[WechatMessaging]:
    sender = WechatMessaging(settings.wechat, db, settings.redis_url)
    yield sender
    await sender.aclose()


async def run_jobs(db: Database, settings: Settings, messaging: WechatMessaging) -> None:
    """Run every due job (fan-out, then the sends it queued)."""
    storage = create_storage(settings.storage, settings.public_base_url, settings.auth.jwt_secret)
    registry = job_registry(storage, messaging=messaging, timezone=settings.timezone)
    await JobRunner(db, registry).drain()


async def configure_template(
    client: Client,
    hq: dict[str, str],
    wechat: SubscribeState,
    template_id: str = ORDER_TEMPLATE,
    kind: str = "order_rejected",
    fields: dict[str, str] | None = None,
) -> dict[str, Any]:
    """HQ configures the template and the fake learns its keys (as the WeChat console would)."""
    mapping = fields or ORDER_FIELDS
    body = {
        "eventKind": kind,
        "title": "订单审核通知",
        "page": "pages/orders/detail",
        "fields": [{"key": k, "param": p} for k, p in mapping.items()],
    }
    response = await client.put(f"/hq/notifications/templates/{template_id}", json=body, headers=hq)
    assert response.status_code == 200, response.text
    wechat.templates[template_id] = tuple(mapping)
    return response.json()
