"""Bad input to the subscription routes: a clear error, nothing recorded."""

from __future__ import annotations

from server.db.engine import Database
from server.identity.models import Role
from server.settings import Settings
from tests.factories import bearer, make_dealer, make_user
from tests.fakes.wechat_subscribe import SubscribeState
from tests.notifications.conftest import ORDER_TEMPLATE, Client, configure_template


async def test_authorizations_only_for_configured_templates_and_the_caller(
    client: Client, db: Database, settings: Settings, wechat: SubscribeState
) -> None:
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    await configure_template(client, hq, wechat)
    dealer = await make_dealer(db)
    me = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer, openid="openid-me"))
    await make_user(db, Role.DEALER_STAFF, dealer, openid="openid-colleague")

    unknown = await client.post(
        "/mp/subscriptions", json={"results": {"TPL-NOT-SET": "accept"}}, headers=me
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "subscription_template_unknown"
    other = await client.post(
        "/mp/subscriptions",
        json={"results": {ORDER_TEMPLATE: "accept"}, "openid": "openid-colleague"},
        headers=me,
    )
    assert other.status_code == 403 and other.json()["code"] == "subscription_other_user"
    named = await client.post(
        "/mp/subscriptions", json={"results": {ORDER_TEMPLATE: "accept"}, "userId": "x"}, headers=me
    )
    assert named.status_code == 422
    bad_answer = await client.post(
        "/mp/subscriptions", json={"results": {ORDER_TEMPLATE: "maybe"}}, headers=me
    )
    assert bad_answer.status_code == 422
    mine = (await client.get("/mp/subscriptions", headers=me)).json()
    assert mine["grants"][0]["remaining"] == 0  # nothing recorded by the refused calls
    refused = await client.post(
        "/mp/subscriptions", json={"results": {ORDER_TEMPLATE: "reject"}}, headers=me
    )
    assert refused.json()["grants"][0] | {"title": ""} == {
        "templateId": ORDER_TEMPLATE,
        "eventKind": "order_rejected",
        "title": "",
        "remaining": 0,
        "lastResult": "reject",
    }


async def test_template_configuration_is_checked(
    client: Client, db: Database, settings: Settings
) -> None:
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    ops = bearer(settings, await make_user(db, Role.HQ_OPERATOR))
    good = {
        "eventKind": "credit_low",
        "title": "额度提醒",
        "fields": [{"key": "amount1", "param": "available"}],
    }
    cases = [
        ({**good, "eventKind": "weather"}, "request_invalid"),
        ({**good, "fields": [{"key": "colour1", "param": "available"}]}, "request_invalid"),
        ({**good, "fields": [{"key": "amount1", "param": "orderNo"}]}, "template_param_unknown"),
        (
            {**good, "fields": [{"key": "amount1", "param": "available"}] * 2},
            "template_field_repeated",
        ),
        ({**good, "fields": []}, "request_invalid"),
        ({**good, "page": "pages/x\n"}, "request_invalid"),
    ]
    for body, code in cases:
        response = await client.put("/hq/notifications/templates/TPL1", json=body, headers=hq)
        assert (response.status_code, response.json()["code"]) == (422, code), body
    bad_id = await client.put("/hq/notifications/templates/TPL%201", json=good, headers=hq)
    assert bad_id.status_code in (400, 422)
    assert (
        await client.put("/hq/notifications/templates/TPL1", json=good, headers=ops)
    ).status_code == 403
    ok = await client.put("/hq/notifications/templates/TPL1", json=good, headers=hq)
    assert ok.status_code == 200 and ok.json()["fields"] == [
        {"key": "amount1", "param": "available"}
    ]
    retired = await client.put(
        "/hq/notifications/templates/TPL1", json={**good, "active": False}, headers=hq
    )
    assert retired.json()["active"] is False
    listed = (await client.get("/hq/notifications/templates", headers=ops)).json()
    assert [t["templateId"] for t in listed] == ["TPL1"]
