"""WeChat mini-program login against a real local fake of code2Session."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.db.engine import Database
from server.identity.models import Role
from server.settings import Settings, WechatSettings
from tests.conftest import make_settings
from tests.factories import bearer, make_dealer, make_user
from tests.fakes.wechat import FakeWechat

Client = AsyncTestClient[Litestar]


async def invite(client: Client, settings: Settings, db: Database, **body: object) -> str:
    admin = await make_user(db, Role.HQ_ADMIN)
    response = await client.post("/hq/invitations", json=body, headers=bearer(settings, admin))
    assert response.status_code == 201, response.text
    return str(response.json()["code"])


async def test_first_login_binds_with_an_invitation(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer = await make_dealer(db)
    code = await invite(
        client, settings, db, role="dealer_staff", dealerId=str(dealer.id), displayName="店员小王"
    )
    first = await client.post("/mp/auth/wechat/login", json={"code": "ok-alice"})
    assert first.status_code == 201, first.text
    assert first.json()["bound"] is False
    binding = first.json()["bindingToken"]
    bound = await client.post(
        "/mp/auth/wechat/bind", json={"bindingToken": binding, "invitationCode": code}
    )
    assert bound.status_code == 201, bound.text
    assert bound.json()["role"] == "dealer_staff"
    assert bound.json()["dealerId"] == str(dealer.id)
    me = await client.get(
        "/mp/me", headers={"Authorization": f"Bearer {bound.json()['accessToken']}"}
    )
    assert me.json()["user"]["displayName"] == "店员小王"
    assert me.json()["dealer"]["id"] == str(dealer.id)
    # Next time the same WeChat user is recognised straight away.
    again = await client.post("/mp/auth/wechat/login", json={"code": "ok-alice"})
    assert again.json()["bound"] is True
    assert again.json()["tokens"]["userId"] == bound.json()["userId"]


async def test_an_invitation_is_spent_once(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer = await make_dealer(db)
    code = await invite(client, settings, db, role="dealer_admin", dealerId=str(dealer.id))
    a = (await client.post("/mp/auth/wechat/login", json={"code": "ok-a"})).json()["bindingToken"]
    b = (await client.post("/mp/auth/wechat/login", json={"code": "ok-b"})).json()["bindingToken"]
    assert (
        await client.post("/mp/auth/wechat/bind", json={"bindingToken": a, "invitationCode": code})
    ).status_code == 201
    second = await client.post(
        "/mp/auth/wechat/bind", json={"bindingToken": b, "invitationCode": code}
    )
    assert (second.status_code, second.json()["code"]) == (422, "invitation_used")
    wrong = await client.post(
        "/mp/auth/wechat/bind", json={"bindingToken": b, "invitationCode": "NOPE1234"}
    )
    assert wrong.json()["code"] == "invitation_invalid"
    forged = await client.post(
        "/mp/auth/wechat/bind", json={"bindingToken": "x" * 40, "invitationCode": code}
    )
    assert (forged.status_code, forged.json()["code"]) == (401, "token_invalid")


async def test_concurrent_binds_of_one_invitation(
    client: Client, db: Database, settings: Settings, backend: str
) -> None:
    dealer = await make_dealer(db)
    code = await invite(client, settings, db, role="dealer_staff", dealerId=str(dealer.id))
    tokens = [
        (
            await client.post("/mp/auth/wechat/login", json={"code": f"ok-{uuid.uuid4().hex[:8]}"})
        ).json()["bindingToken"]
        for _ in range(6)
    ]
    results = await asyncio.gather(
        *[
            client.post("/mp/auth/wechat/bind", json={"bindingToken": t, "invitationCode": code})
            for t in tokens
        ]
    )
    assert sorted(r.status_code for r in results) == [201] + [422] * 5


@pytest.mark.parametrize(
    ("code", "status", "problem"),
    [
        ("invalid", 401, "wechat_code_invalid"),
        ("used", 401, "wechat_code_invalid"),
        ("limited", 429, "wechat_rate_limited"),
        ("risky", 403, "wechat_user_blocked"),
        ("busy", 503, "wechat_busy"),
        ("http500", 503, "wechat_unavailable"),
        ("garbage", 502, "wechat_bad_answer"),
    ],
)
async def test_wechat_errors_map_to_problems(
    client: Client, code: str, status: int, problem: str
) -> None:
    response = await client.post("/mp/auth/wechat/login", json={"code": code})
    assert (response.status_code, response.json()["code"]) == (status, problem)


async def test_wrong_app_secret_is_an_upstream_error(
    database_url: str, tmp_path: Path, fake_wechat: FakeWechat
) -> None:
    wechat = WechatSettings(base_url=fake_wechat.base_url, appid="wx-test-appid", secret="wrong")
    settings = make_settings(database_url, tmp_path, fake_wechat.base_url, wechat=wechat)
    async with AsyncTestClient(create_app(settings), base_url="http://testserver.local") as client:
        response = await client.post("/mp/auth/wechat/login", json={"code": "ok-x"})
    assert (response.status_code, response.json()["code"]) == (502, "wechat_error")
    assert response.json()["wechatErrcode"] == 40125


async def test_unreachable_wechat_is_503(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, "http://127.0.0.1:9")
    async with AsyncTestClient(create_app(settings), base_url="http://testserver.local") as client:
        response = await client.post("/mp/auth/wechat/login", json={"code": "ok-x"})
    assert (response.status_code, response.json()["code"]) == (503, "wechat_unreachable")


async def test_dev_login_exists_only_in_dev_mode(
    database_url: str, tmp_path: Path, db: Database
) -> None:
    await make_user(db, Role.REP, username="rep1")
    off = make_settings(database_url, tmp_path, "http://127.0.0.1:9")
    async with AsyncTestClient(create_app(off), base_url="http://testserver.local") as client:
        assert (
            await client.post("/mp/auth/dev-login", json={"username": "rep1"})
        ).status_code == 404
    on = make_settings(database_url, tmp_path, "http://127.0.0.1:9", dev_mode=True)
    async with AsyncTestClient(create_app(on), base_url="http://testserver.local") as client:
        response = await client.post("/mp/auth/dev-login", json={"username": "rep1"})
        assert response.status_code == 201
        assert response.json()["role"] == "rep"
