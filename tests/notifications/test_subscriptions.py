"""Subscription messages end to end: authorizations recorded, each message sent at most once,
fields reformatted so WeChat takes them, WeChat's errors handled by kind."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from server.db.engine import Database
from server.db.session import transaction
from server.identity.models import Role, User
from server.notifications import EventKind, WechatMessaging, notify
from server.notifications.delivery import claim_message, fan_out
from server.notifications.models import (
    InboxItem,
    MessageStatus,
    NotificationEvent,
    SubscriptionGrant,
    SubscriptionMessage,
)
from server.settings import Settings
from tests.factories import bearer, make_dealer, make_user
from tests.fakes.wechat_subscribe import SubscribeState, field_ok
from tests.notifications.conftest import ORDER_TEMPLATE, Client, configure_template, run_jobs

LONG_REASON = "库存不足，且该经销商本月信用额度已超出上限，请联系区域经理重新提交订单并补充资料"


async def _dealer_user(db: Database, openid: str) -> tuple[uuid.UUID, User]:
    dealer = await make_dealer(db)
    user = await make_user(db, Role.DEALER_ADMIN, dealer, openid=openid)
    return dealer.id, user


async def _subscribe(
    client: Client, settings: Settings, wechat: SubscribeState, user: User, times: int = 1
) -> dict[str, object]:
    """The user accepts the template ``times`` times; the mini-program reports each answer."""
    answer: dict[str, object] = {}
    for _ in range(times):
        assert user.wechat_openid is not None
        wechat.grant(user.wechat_openid, ORDER_TEMPLATE)
        response = await client.post(
            "/mp/subscriptions",
            json={"results": {ORDER_TEMPLATE: "accept"}},
            headers=bearer(settings, user),
        )
        assert response.status_code == 200, response.text
        answer = response.json()
    return answer


async def _reject(
    db: Database, dealer_id: uuid.UUID, key: str, **params: object
) -> uuid.UUID | None:
    async with transaction(db) as session:
        return await notify(
            session,
            EventKind.ORDER_REJECTED,
            key,
            dealer_ids=[dealer_id],
            params={
                "orderNo": f"SO-{key}",
                "amount": 1234567,
                "status": "rejected",
                "at": datetime(2026, 12, 2, 6, 5, tzinfo=UTC),
                **params,
            },  # type: ignore[dict-item]
        )


async def _count(db: Database, model: type, *where: object) -> int:
    async with db.session() as session:
        query = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
        return int((await session.execute(query)).scalar_one())


async def test_one_message_per_event_and_user_with_fields_reformatted(
    client: Client,
    db: Database,
    settings: Settings,
    wechat: SubscribeState,
    messaging: WechatMessaging,
) -> None:
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    await configure_template(client, hq, wechat)
    dealer_id, user = await _dealer_user(db, "openid-n1")
    grants = await _subscribe(client, settings, wechat, user, times=2)
    assert grants["grants"] == [
        {
            "templateId": ORDER_TEMPLATE,
            "eventKind": "order_rejected",
            "title": "订单审核通知",
            "remaining": 2,
            "lastResult": "accept",
        }
    ]

    assert await _reject(db, dealer_id, "A1", reason=LONG_REASON) is not None
    assert await _reject(db, dealer_id, "A1") is None  # the same event again: nothing new
    await run_jobs(db, settings, messaging)
    await run_jobs(db, settings, messaging)  # a second run sends nothing again

    assert len(wechat.sent) == 1 and not wechat.refused
    data = wechat.sent[0].data
    assert data == {
        "character_string1": "SO-A1",
        "amount2": "¥12345.67",
        "phrase3": "已驳回",
        "time4": "2026年12月02日 14:05",
        "thing5": LONG_REASON[:19] + "…",
    }
    assert all(field_ok(k, v) for k, v in data.items())
    assert wechat.sent[0].page == "pages/orders/detail"
    assert (
        await _count(db, SubscriptionMessage, SubscriptionMessage.status == MessageStatus.SENT) == 1
    )
    assert await _count(db, InboxItem) == 1
    async with db.session() as session:
        grant = await session.get(SubscriptionGrant, (user.id, ORDER_TEMPLATE))
        assert grant is not None and grant.remaining == 1 and grant.accepted == 2


async def test_no_authorization_means_no_message_but_the_inbox(
    client: Client,
    db: Database,
    settings: Settings,
    wechat: SubscribeState,
    messaging: WechatMessaging,
) -> None:
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    await configure_template(client, hq, wechat)
    dealer_id, _user = await _dealer_user(db, "openid-n2")
    await _reject(db, dealer_id, "B1")
    await run_jobs(db, settings, messaging)
    assert wechat.sent == []
    assert await _count(db, SubscriptionMessage) == 0
    assert await _count(db, InboxItem, InboxItem.dealer_id == dealer_id) == 1


async def test_wechat_43101_is_skipped_and_recorded(
    client: Client,
    db: Database,
    settings: Settings,
    wechat: SubscribeState,
    messaging: WechatMessaging,
) -> None:
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    await configure_template(client, hq, wechat)
    dealer_id, user = await _dealer_user(db, "openid-n3")
    await _subscribe(client, settings, wechat, user, times=3)
    wechat.quotas.clear()  # WeChat knows better: nothing left (the user turned it off)
    await _reject(db, dealer_id, "C1")
    await run_jobs(db, settings, messaging)
    assert wechat.sent == [] and wechat.refused[43101] == 1
    async with db.session() as session:
        message = (await session.execute(select(SubscriptionMessage))).scalar_one()
        assert (message.status, message.errcode) == (MessageStatus.SKIPPED, 43101)
        grant = await session.get(SubscriptionGrant, (user.id, ORDER_TEMPLATE))
        assert grant is not None and grant.remaining == 0
    await _reject(db, dealer_id, "C2")  # no authorization left on our side: not even tried
    await run_jobs(db, settings, messaging)
    assert wechat.refused[43101] == 1 and await _count(db, SubscriptionMessage) == 1


async def test_bad_token_is_refreshed_once_and_the_message_sent(
    client: Client,
    db: Database,
    settings: Settings,
    wechat: SubscribeState,
    messaging: WechatMessaging,
) -> None:
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    await configure_template(client, hq, wechat)
    dealer_id, user = await _dealer_user(db, "openid-n4")
    await _subscribe(client, settings, wechat, user, times=3)
    await _reject(db, dealer_id, "D1")
    await run_jobs(db, settings, messaging)
    assert wechat.token_fetches == 1
    wechat.expire_tokens()  # 42001 on the next use
    await _reject(db, dealer_id, "D2")
    await run_jobs(db, settings, messaging)
    wechat.issue_token(
        {"appid": wechat.appid, "secret": wechat.secret, "grant_type": "client_credential"}
    )
    await _reject(db, dealer_id, "D3")  # someone else fetched: ours is now 40001
    await run_jobs(db, settings, messaging)
    assert [s.data["character_string1"] for s in wechat.sent] == ["SO-D1", "SO-D2", "SO-D3"]
    assert wechat.refused == {42001: 1, 40001: 1}
    assert wechat.token_fetches == 4  # ours, the refresh after 42001, theirs, ours after 40001


async def test_rate_limited_messages_back_off_and_go_out_once(
    client: Client,
    db: Database,
    settings: Settings,
    wechat: SubscribeState,
    messaging: WechatMessaging,
) -> None:
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    await configure_template(client, hq, wechat)
    dealer_id, user = await _dealer_user(db, "openid-n5")
    await _subscribe(client, settings, wechat, user, times=5)
    wechat.rate_limit = 2
    for n in range(5):
        await _reject(db, dealer_id, f"E{n}")
    # The backed-off jobs come due in a few seconds; a loaded CI box takes longer: wait up to
    # a minute for all five (the assertions below say how many went out, and only once).
    deadline = asyncio.get_running_loop().time() + 60
    while asyncio.get_running_loop().time() < deadline:
        await run_jobs(db, settings, messaging)
        if len(wechat.sent) == 5:
            break
        await asyncio.sleep(1.0)
    assert sorted(s.data["character_string1"] for s in wechat.sent) == [
        f"SO-E{n}" for n in range(5)
    ]
    assert wechat.refused[45009] >= 1 and set(wechat.refused) == {45009}
    async with db.session() as session:
        grant = await session.get(SubscriptionGrant, (user.id, ORDER_TEMPLATE))
        assert (
            grant is not None and grant.remaining == 0
        )  # 5 given, 5 sent: refusals gave theirs back
    assert (
        await _count(db, SubscriptionMessage, SubscriptionMessage.status == MessageStatus.SENT) == 5
    )


async def test_a_message_whose_worker_died_mid_send_is_never_sent_again(
    client: Client,
    db: Database,
    settings: Settings,
    wechat: SubscribeState,
    messaging: WechatMessaging,
) -> None:
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    await configure_template(client, hq, wechat)
    dealer_id, user = await _dealer_user(db, "openid-n6")
    await _subscribe(client, settings, wechat, user, times=2)
    await _reject(db, dealer_id, "F1")
    async with transaction(db) as session:  # the fan-out, alone
        assert (
            await fan_out(
                session, (await session.execute(select(NotificationEvent.id))).scalar_one()
            )
            == 1
        )
    async with transaction(db) as session:  # a worker claims the message, then dies
        message_id = (await session.execute(select(SubscriptionMessage.id))).scalar_one()
        assert await claim_message(session, message_id, ZoneInfo("Asia/Shanghai")) is not None
    await run_jobs(db, settings, messaging)  # its job runs again
    assert wechat.sent == []
    async with db.session() as session:
        message = await session.get(SubscriptionMessage, message_id)
        assert message is not None and message.status is MessageStatus.UNCERTAIN
        grant = await session.get(SubscriptionGrant, (user.id, ORDER_TEMPLATE))
        assert grant is not None and grant.remaining == 1  # the one taken stays taken
    log = await client.get("/hq/notifications/messages", params={"status": "uncertain"}, headers=hq)
    assert [m["id"] for m in log.json()] == [str(message_id)]


async def test_a_refusal_for_content_is_recorded_as_failed_and_not_retried(
    client: Client,
    db: Database,
    settings: Settings,
    wechat: SubscribeState,
    messaging: WechatMessaging,
) -> None:
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    await configure_template(client, hq, wechat)
    wechat.templates[ORDER_TEMPLATE] = ("thing1",)  # the WeChat console's template differs
    dealer_id, user = await _dealer_user(db, "openid-n7")
    await _subscribe(client, settings, wechat, user)
    await _reject(db, dealer_id, "G1")
    await run_jobs(db, settings, messaging)
    await run_jobs(db, settings, messaging)
    assert wechat.refused == {47003: 1}
    log = (await client.get("/hq/notifications/messages", headers=hq)).json()
    assert [(m["status"], m["errcode"], m["attempts"]) for m in log] == [("failed", 47003, 1)]
