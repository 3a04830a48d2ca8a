"""Announcements through the API: audiences, sync and pokes, reads, HQ's read report, trail."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from server.announcements.models import AnnouncementRead
from server.db.engine import Database
from server.identity.models import Role
from server.settings import Settings
from tests.announcements.conftest import (
    SYNC,
    Channel,
    Client,
    create,
    listed,
    publish,
    pull,
    pulled,
)
from tests.factories import bearer, make_user, trail_of


async def test_a_region_announcement_reaches_its_dealers_through_sync_until_withdrawn(
    client: Client, channel: Channel
) -> None:
    a = await create(client, channel.hq, audience="regions", targets=["330000"])
    assert (a["status"], a["targets"]) == ("draft", ["330000"])
    west, canton = channel.users[channel.west_lake.code], channel.users[channel.canton.code]
    assert await listed(client, west) == []  # a draft reaches no one
    live = await publish(client, channel.hq, a)
    assert live["status"] == "published" and live["publishedAt"]
    again = await publish(client, channel.hq, a)  # idempotent: no second decision
    assert again["publishedAt"] == live["publishedAt"]
    # 浙江's announcement reaches 西湖区 and 杭州 (a province's cities and districts), not 广州.
    assert await listed(client, west) == [a["id"]]
    assert await listed(client, channel.users[channel.watcher.code]) == [a["id"]]
    assert await listed(client, canton) == []
    other = await client.get(f"/mp/announcements/{a['id']}", headers=canton)
    assert (other.status_code, other.json()["code"]) == (404, "announcement_not_found")
    changes, cursor = await pull(client, west)
    [change] = [c for c in changes if c["entity"] == "announcement"]
    assert (change["key"], change["op"]) == (a["id"], "upsert")
    assert change["data"]["titleEn"] == "Spring Festival shipping"
    assert await pulled(client, canton, "announcement") == []
    gone = await client.post(f"/hq/announcements/{a['id']}/withdraw", headers=channel.hq)
    assert gone.json()["status"] == "withdrawn"
    changes, _ = await pull(client, west, cursor)
    assert [(c["entity"], c["op"]) for c in changes] == [
        ("announcement", "delete"),
        ("decision_head", "upsert"),  # the withdrawal moved the trail's head
    ]
    assert await listed(client, west) == []
    refused = await client.post(f"/hq/announcements/{a['id']}/publish", headers=channel.hq)
    assert (refused.status_code, refused.json()["code"]) == (409, "announcement_withdrawn")
    assert await trail_of(client, channel.hq, "announcement", a["id"]) == [
        ("published", "hq_admin", ""),
        ("withdrawn", "hq_admin", ""),
    ]


async def test_tiers_named_dealers_and_pinning(client: Client, channel: Channel) -> None:
    growth = await publish(
        client, channel.hq, await create(client, channel.hq, audience="tiers", targets=["growth"])
    )
    named = await publish(
        client,
        channel.hq,
        await create(
            client,
            channel.hq,
            audience="dealers",
            targets=[str(channel.watcher.id).upper()],  # any spelling of the id
        ),
    )
    assert named["targets"] == [str(channel.watcher.id)]
    everyone = await publish(client, channel.hq, await create(client, channel.hq))
    pinned = await publish(client, channel.hq, await create(client, channel.hq, pinned=True))
    assert await listed(client, channel.users[channel.canton.code]) == [
        pinned["id"],
        everyone["id"],
        growth["id"],
    ]
    watcher = channel.users[channel.watcher.code]
    assert await listed(client, watcher) == [pinned["id"], everyone["id"], named["id"]]
    [mine] = [c for c in await pulled(client, watcher, "announcement") if c["key"] == named["id"]]
    assert mine["scope"] == f"dealer:{channel.watcher.id}"


async def test_reads_over_http_and_sync_and_who_has_read(
    client: Client, db: Database, channel: Channel, settings: Settings
) -> None:
    a = await publish(client, channel.hq, await create(client, channel.hq))
    west = channel.users[channel.west_lake.code]
    first = await client.post(f"/mp/announcements/{a['id']}/read", headers=west)
    assert first.status_code == 200, first.text
    repeat = await client.post(f"/mp/announcements/{a['id']}/read", headers=west)
    assert repeat.json()["readAt"] == first.json()["readAt"]
    [mine] = (await client.get("/mp/announcements", headers=west)).json()
    assert mine["readAt"] == first.json()["readAt"]
    staff = bearer(settings, await make_user(db, Role.DEALER_STAFF, dealer=channel.west_lake))
    push = await client.post(
        "/sync/push",
        json={
            "clientId": "dev-staff",
            "mutations": [
                {"mid": 1, "name": "announcement.read", "args": {"announcementId": a["id"]}}
            ],
        },
        headers={**staff, **SYNC},
    )
    [result] = push.json()["results"]
    assert result["status"] == "applied", result
    reads = await pulled(client, west, "announcement_read")
    assert len(reads) == 2  # each user's first read, published once
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(AnnouncementRead)) == 2
    report = (await client.get(f"/hq/announcements/{a['id']}/reads", headers=channel.hq)).json()
    assert (report["audienceSize"], report["readCount"]) == (3, 1)
    first_row, *unread = report["dealers"]
    assert (first_row["dealerCode"], first_row["readers"]) == (channel.west_lake.code, 2)
    assert first_row["firstReadAt"] == first.json()["readAt"]
    assert sorted(d["dealerCode"] for d in unread) == sorted(
        [channel.canton.code, channel.watcher.code]
    )
    assert all(d["firstReadAt"] is None and d["readers"] == 0 for d in unread)


async def test_a_read_of_an_announcement_not_for_the_dealer_is_refused_offline_too(
    client: Client, channel: Channel
) -> None:
    a = await publish(
        client, channel.hq, await create(client, channel.hq, audience="tiers", targets=["core"])
    )
    canton = channel.users[channel.canton.code]
    refused = await client.post(f"/mp/announcements/{a['id']}/read", headers=canton)
    assert refused.status_code == 404
    push = await client.post(
        "/sync/push",
        json={
            "clientId": "dev-canton",
            "mutations": [
                {"mid": 1, "name": "announcement.read", "args": {"announcementId": a["id"]}},
                {
                    "mid": 2,
                    "name": "announcement.read",
                    "args": {"announcementId": str(uuid.uuid4())},
                },
            ],
        },
        headers={**canton, **SYNC},
    )
    assert [(r["status"], r["reason"]) for r in push.json()["results"]] == [
        ("rejected", "announcement_not_found"),
        ("rejected", "announcement_not_found"),
    ]


async def test_roles_are_kept_apart(client: Client, channel: Channel) -> None:
    west = channel.users[channel.west_lake.code]
    assert (await client.get("/hq/announcements", headers=west)).status_code == 403
    assert (await client.post("/hq/announcements", json={}, headers=west)).status_code == 403
    assert (await client.get("/mp/announcements", headers=channel.hq)).status_code == 403


async def test_a_published_announcement_reaches_its_dealers_inboxes_once(
    client: Client, channel: Channel
) -> None:
    a = await create(client, channel.hq, audience="tiers", targets=["growth"])
    await publish(client, channel.hq, a)
    again = await client.post(f"/hq/announcements/{a['id']}/publish", headers=channel.hq)
    assert again.status_code == 200  # publishing twice tells nobody twice
    canton = await client.get("/mp/inbox", headers=channel.users[channel.canton.code])
    items = [i for i in canton.json()["items"] if i["kind"] == "announcement"]
    assert len(items) == 1
    west = await client.get("/mp/inbox", headers=channel.users[channel.west_lake.code])
    assert [i for i in west.json()["items"] if i["kind"] == "announcement"] == []
