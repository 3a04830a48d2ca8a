"""Bad announcements are clear 422s: control characters, lengths, languages, unknown targets,
expiry in the past; an expired announcement is no longer shown or read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from server.announcements.models import Announcement
from server.db.engine import Database
from server.db.session import transaction
from tests.announcements.conftest import Channel, Client, create, notice, publish


async def refused(client: Client, channel: Channel, **body: Any) -> dict[str, Any]:
    response = await client.post("/hq/announcements", json=notice(**body), headers=channel.hq)
    assert response.status_code == 422, response.text
    return response.json()


@pytest.mark.parametrize(
    "body",
    [
        {"titleZh": "春节\x00发货"},
        {"titleZh": "春节\n发货"},  # a title is one line
        {"titleZh": "长" * 121},
        {"bodyEn": "x" * 5001},
        {"bodyZh": "正文\x07"},
        {"targets": ["\x1b[31m"], "audience": "regions"},
        {"audience": "planet"},
        {"pinned": "yes"},
        {"expiresAt": "tomorrow"},
        {"colour": "red"},
    ],
)
async def test_malformed_fields_are_refused(
    client: Client, channel: Channel, body: dict[str, Any]
) -> None:
    await refused(client, channel, **body)


async def test_each_language_is_whole_and_one_is_needed(client: Client, channel: Channel) -> None:
    half = await refused(client, channel, bodyEn="")
    assert (half["code"], half["errors"][0]["key"]) == ("announcement_invalid", "bodyEn")
    none = await refused(client, channel, titleZh=" ", bodyZh="", titleEn="", bodyEn="")
    assert none["code"] == "announcement_invalid"
    zh_only = await client.post(
        "/hq/announcements",
        json={"titleZh": "通知", "bodyZh": "内容"},
        headers=channel.hq,
    )
    assert zh_only.status_code == 201


async def test_unknown_targets_are_named(client: Client, channel: Channel) -> None:
    region = await refused(client, channel, audience="regions", targets=["330000", "999999"])
    assert region["code"] == "announcement_target_unknown"
    assert [(e["code"], e["target"]) for e in region["errors"]] == [("region_unknown", "999999")]
    tier = await refused(client, channel, audience="tiers", targets=["gold"])
    assert [e["target"] for e in tier["errors"]] == ["gold"]
    ghost = str(uuid.uuid4())
    dealers = await refused(
        client, channel, audience="dealers", targets=[str(channel.canton.id), ghost, "dealer01"]
    )
    assert sorted(e["target"] for e in dealers["errors"]) == sorted([ghost, "dealer01"])
    empty = await refused(client, channel, audience="tiers", targets=[])
    assert empty["code"] == "announcement_targets_invalid"
    to_all = await refused(client, channel, audience="all", targets=["core"])
    assert to_all["code"] == "announcement_targets_invalid"


async def test_expiry_in_the_past_is_refused_and_expired_ones_disappear(
    client: Client, db: Database, channel: Channel
) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    problem = await refused(client, channel, expiresAt=past)
    assert (problem["code"], problem["errors"][0]["key"]) == ("announcement_expired", "expiresAt")
    far = await refused(client, channel, expiresAt="2100-01-01T00:00:00Z")
    assert far["code"] == "announcement_invalid"
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    draft = await create(client, channel.hq, expiresAt=soon)
    live = await publish(client, channel.hq, await create(client, channel.hq, expiresAt=soon))
    async with transaction(db) as s:  # an hour passes
        await s.execute(
            update(Announcement).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    late = await client.post(f"/hq/announcements/{draft['id']}/publish", headers=channel.hq)
    assert (late.status_code, late.json()["code"]) == (422, "announcement_expired")
    west = channel.users[channel.west_lake.code]
    assert (await client.get("/mp/announcements", headers=west)).json() == []
    read = await client.post(f"/mp/announcements/{live['id']}/read", headers=west)
    assert (read.status_code, read.json()["code"]) == (409, "announcement_expired")
    assert "过期" in read.json()["detail"]


async def test_unknown_ids_are_404(client: Client, channel: Channel) -> None:
    missing = await client.post(f"/hq/announcements/{uuid.uuid4()}/publish", headers=channel.hq)
    assert (missing.status_code, missing.json()["code"]) == (404, "announcement_not_found")
    bad = await client.get("/hq/announcements/not-a-uuid", headers=channel.hq)
    assert bad.status_code in (400, 404)
    status = await client.get("/hq/announcements", params={"status": "x" * 300}, headers=channel.hq)
    assert status.status_code == 422  # not one of the statuses
