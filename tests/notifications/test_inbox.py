"""The in-app inbox: in the dealer's sync scope, listed and marked read over HTTP and sync,
never another dealer's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from server.db.engine import Database
from server.db.session import transaction
from server.identity.models import Role, User
from server.notifications import EventKind, WechatMessaging, delivery, events, notify
from server.notifications.models import InboxItem, NotificationEvent
from server.settings import Settings
from tests.factories import bearer, make_dealer, make_user
from tests.notifications.conftest import Client, run_jobs


async def _announce(db: Database, dealer_ids: list[uuid.UUID], key: str, title: str) -> None:
    async with transaction(db) as session:
        await notify(
            session,
            EventKind.ANNOUNCEMENT,
            key,
            dealer_ids=dealer_ids,
            params={"title": title, "summary": f"{title}的详情", "status": "new"},
        )


async def _inbox_changes(client: Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.post("/sync/pull", json={"cursor": {}, "protocol": 1}, headers=headers)
    assert response.status_code == 200, response.text
    return [c for c in response.json()["changes"] if c["entity"] == "inbox"]


async def test_inbox_lists_marks_read_and_syncs(
    client: Client, db: Database, settings: Settings
) -> None:
    mine, other = await make_dealer(db), await make_dealer(db)
    me: User = await make_user(db, Role.DEALER_STAFF, mine)
    them = bearer(settings, await make_user(db, Role.DEALER_ADMIN, other))
    headers = bearer(settings, me)
    await _announce(db, [mine.id, other.id], "n1", "春节放假安排")
    await _announce(db, [mine.id], "n2", "新品上市")
    await _announce(db, [mine.id], "n2", "新品上市")  # told twice: one item

    page = (await client.get("/mp/inbox", params={"limit": 1}, headers=headers)).json()
    assert page["unread"] == 2 and len(page["items"]) == 1 and page["nextCursor"]
    assert page["items"][0]["title"] == {
        "zh": "新公告：新品上市",
        "en": "New announcement: 新品上市",
    }
    rest = (
        await client.get("/mp/inbox", params={"cursor": page["nextCursor"]}, headers=headers)
    ).json()
    assert [i["title"]["zh"] for i in rest["items"]] == ["新公告：春节放假安排"]
    first_id = page["items"][0]["id"]

    response = await client.put(f"/mp/inbox/{first_id}/read", headers=headers)
    assert response.status_code == 200 and response.json()["readBy"] == str(me.id)
    assert (await client.get("/mp/inbox", params={"unread": True}, headers=headers)).json()[
        "unread"
    ] == 1
    # Another dealer cannot read (or mark) mine.
    assert (await client.put(f"/mp/inbox/{first_id}/read", headers=them)).status_code == 404
    their_page = (await client.get("/mp/inbox", headers=them)).json()
    assert [i["title"]["zh"] for i in their_page["items"]] == ["新公告：春节放假安排"]
    assert their_page["unread"] == 1

    changes = await _inbox_changes(client, headers)
    latest = {c["key"]: c["data"] for c in changes}
    assert set(latest) == {first_id, rest["items"][0]["id"]}
    assert latest[first_id]["readAt"] is not None
    assert all(c["scope"] == f"dealer:{mine.id}" for c in changes)


async def test_inbox_read_mutation_offline(
    client: Client, db: Database, settings: Settings
) -> None:
    mine, other = await make_dealer(db), await make_dealer(db)
    headers = bearer(settings, await make_user(db, Role.DEALER_ADMIN, mine))
    them = bearer(settings, await make_user(db, Role.DEALER_ADMIN, other))
    await _announce(db, [mine.id], "m1", "价格调整")
    await _announce(db, [other.id], "m2", "仅限他人")
    mine_id = (await client.get("/mp/inbox", headers=headers)).json()["items"][0]["id"]
    theirs_id = (await client.get("/mp/inbox", headers=them)).json()["items"][0]["id"]
    body = {
        "clientId": "phone-1",
        "protocol": 1,
        "mutations": [{"mid": 1, "name": "inbox.read", "args": {"ids": [mine_id, theirs_id]}}],
    }
    response = await client.post("/sync/push", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["status"] == "applied" and result["detail"]["read"] == [mine_id]
    assert (await client.get("/mp/inbox", headers=headers)).json()["unread"] == 0
    assert (await client.get("/mp/inbox", headers=them)).json()["unread"] == 1


async def test_inbox_refuses_bad_input(client: Client, db: Database, settings: Settings) -> None:
    dealer = await make_dealer(db)
    headers = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer))
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    assert (
        await client.get("/mp/inbox", params={"cursor": "!!"}, headers=headers)
    ).status_code == 400
    assert (await client.get("/mp/inbox", params={"limit": 0}, headers=headers)).status_code == 422
    assert (
        await client.post("/mp/inbox/read", json={"ids": []}, headers=headers)
    ).status_code == 422
    assert (await client.get("/mp/inbox", headers=hq)).status_code == 403


async def test_a_large_audience_gets_its_inbox_from_the_fan_out_job(
    client: Client,
    db: Database,
    settings: Settings,
    messaging: WechatMessaging,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "INLINE_INBOX", 1)
    monkeypatch.setattr(delivery, "INLINE_INBOX", 1)
    dealers = [await make_dealer(db) for _ in range(3)]
    headers = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealers[2]))
    await _announce(db, [d.id for d in dealers], "big", "全员通知")
    assert (await client.get("/mp/inbox", headers=headers)).json()["items"] == []
    await run_jobs(db, settings, messaging)
    for _ in range(2):  # a fan-out run again (its worker died after the commit) adds nothing
        async with transaction(db) as session:
            event_id = (await session.execute(select(NotificationEvent.id))).scalar_one()
            await delivery.fan_out(session, event_id)
    async with db.session() as session:
        items = (await session.execute(select(InboxItem.dealer_id))).scalars().all()
    assert sorted(items, key=str) == sorted((d.id for d in dealers), key=str)
    assert (await client.get("/mp/inbox", headers=headers)).json()["unread"] == 1
