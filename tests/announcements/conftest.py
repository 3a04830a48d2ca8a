"""A small channel for announcements: regions, tiers, three dealers with a user each, HQ."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.db.engine import Database
from server.dealers.models import Dealer
from server.identity.models import Role
from server.settings import Settings
from tests.factories import bearer, make_dealer, make_regions, make_tiers, make_user

Client = AsyncTestClient[Litestar]
SYNC = {"X-Sync-Protocol": "1"}


@dataclass
class Channel:
    hq: dict[str, str]
    west_lake: Dealer  # core, in 西湖区 (杭州, 浙江)
    canton: Dealer  # growth, in 广州 (广东)
    watcher: Dealer  # watch, in 杭州
    users: dict[str, dict[str, str]]  # dealer code -> its user's headers


@pytest.fixture
async def channel(db: Database, settings: Settings) -> Channel:
    await make_regions(db)
    await make_tiers(db)
    west_lake = await make_dealer(db, tier="core", regions=("330106",))
    canton = await make_dealer(db, tier="growth", regions=("440100",))
    watcher = await make_dealer(db, tier="watch", regions=("330100",))
    users: dict[str, dict[str, str]] = {}
    for d in (west_lake, canton, watcher):
        users[d.code] = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=d))
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    return Channel(hq=hq, west_lake=west_lake, canton=canton, watcher=watcher, users=users)


def notice(**body: Any) -> dict[str, Any]:
    """An announcement body in both languages, to everyone unless told."""
    return {
        "titleZh": "春节发货安排",
        "bodyZh": "1 月 20 日起暂停发货。",
        "titleEn": "Spring Festival shipping",
        "bodyEn": "No shipments from 20 January.",
        **body,
    }


async def create(client: Client, hq: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post("/hq/announcements", json=notice(**body), headers=hq)
    assert response.status_code == 201, response.text
    return response.json()


async def publish(client: Client, hq: dict[str, str], a: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/hq/announcements/{a['id']}/publish", headers=hq)
    assert response.status_code == 200, response.text
    return response.json()


async def pull(
    client: Client, headers: dict[str, str], cursor: dict[str, int] | None = None
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The changes a node of this user pulls from ``cursor`` (a fresh node: none), and the
    cursor after them."""
    response = await client.post(
        "/sync/pull",
        json={"cursor": cursor or {}, "clientId": f"dev-{uuid.uuid4().hex[:8]}"},
        headers={**headers, **SYNC},
    )
    assert response.status_code == 200, response.text
    return response.json()["changes"], response.json()["cursor"]


async def pulled(client: Client, headers: dict[str, str], entity: str) -> list[dict[str, Any]]:
    """The changes of ``entity`` a fresh node of this user pulls."""
    changes, _ = await pull(client, headers)
    return [c for c in changes if c["entity"] == entity]


async def listed(client: Client, headers: dict[str, str]) -> list[str]:
    response = await client.get("/mp/announcements", headers=headers)
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()]
