"""Password logins, token rotation and revocation, roles, throttling."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from server.app import create_app
from server.db.engine import Database
from server.identity.models import RefreshToken, Role
from server.identity.principal import Principal
from server.identity.tokens import issue_access_token
from server.settings import Settings
from tests.conftest import make_settings
from tests.factories import bearer, make_dealer, make_user

Client = AsyncTestClient[Litestar]


async def login(client: Client, username: str, password: str) -> dict[str, object]:
    response = await client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    return response.json()


async def test_login_issues_tokens_that_open_protected_routes(client: Client, db: Database) -> None:
    user = await make_user(db, Role.HQ_ADMIN, username="boss", password="s3cret-pass")
    tokens = await login(client, "boss", "s3cret-pass")
    assert tokens["role"] == "hq_admin"
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {tokens['accessToken']}"})
    assert me.status_code == 200
    assert me.json()["id"] == str(user.id)


async def test_wrong_password_is_401_with_a_stable_code(client: Client, db: Database) -> None:
    await make_user(db, Role.HQ_ADMIN, username="boss", password="s3cret-pass")
    response = await client.post("/auth/login", json={"username": "boss", "password": "nope"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "login_failed"
    unknown = await client.post("/auth/login", json={"username": "ghost", "password": "nope"})
    assert unknown.json()["code"] == "login_failed"  # no hint whether the user exists


async def test_repeated_failures_are_throttled(client: Client, db: Database) -> None:
    await make_user(db, Role.HQ_ADMIN, username="boss", password="s3cret-pass")
    for _ in range(5):
        response = await client.post("/auth/login", json={"username": "boss", "password": "bad"})
        assert response.status_code == 401
    blocked = await client.post("/auth/login", json={"username": "boss", "password": "s3cret-pass"})
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "login_throttled"
    assert int(blocked.headers["retry-after"]) > 0


async def test_refresh_rotates_and_reuse_revokes_the_family(client: Client, db: Database) -> None:
    await make_user(db, Role.HQ_OPERATOR, username="op", password="s3cret-pass")
    first = await login(client, "op", "s3cret-pass")
    second = await client.post("/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert second.status_code == 201
    rotated = second.json()
    assert rotated["refreshToken"] != first["refreshToken"]
    replay = await client.post("/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert replay.status_code == 401
    assert replay.json()["code"] == "refresh_reused"
    # The thief's replay also killed the legitimate newest token.
    after = await client.post("/auth/refresh", json={"refreshToken": rotated["refreshToken"]})
    assert after.status_code == 401
    assert after.json()["code"] == "refresh_invalid"


async def test_logout_revokes_the_refresh_token(client: Client, db: Database) -> None:
    await make_user(db, Role.HQ_OPERATOR, username="op", password="s3cret-pass")
    tokens = await login(client, "op", "s3cret-pass")
    out = await client.post("/auth/logout", json={"refreshToken": tokens["refreshToken"]})
    assert out.status_code == 204
    again = await client.post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert again.status_code == 401


async def test_disabling_a_user_ends_sessions(
    client: Client, db: Database, settings: Settings
) -> None:
    admin = await make_user(db, Role.HQ_ADMIN)
    user = await make_user(db, Role.HQ_OPERATOR, username="op", password="s3cret-pass")
    tokens = await login(client, "op", "s3cret-pass")
    response = await client.put(
        f"/hq/users/{user.id}", json={"active": False}, headers=bearer(settings, admin)
    )
    assert response.status_code == 200
    assert (
        await client.post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    ).status_code == 401
    again = await client.post("/auth/login", json={"username": "op", "password": "s3cret-pass"})
    assert again.json()["code"] == "user_disabled"


async def test_closed_dealer_cannot_log_in(
    client: Client, db: Database, settings: Settings
) -> None:
    admin = await make_user(db, Role.HQ_ADMIN)
    dealer = await make_dealer(db)
    await make_user(db, Role.DEALER_ADMIN, dealer=dealer, username="d1", password="s3cret-pass")
    closed = await client.delete(f"/hq/dealers/{dealer.id}", headers=bearer(settings, admin))
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    response = await client.post("/auth/login", json={"username": "d1", "password": "s3cret-pass"})
    assert response.status_code == 401
    assert response.json()["code"] == "dealer_closed"


async def test_missing_bad_and_expired_tokens(
    client: Client, db: Database, settings: Settings
) -> None:
    user = await make_user(db, Role.HQ_ADMIN)
    assert (await client.get("/hq/dealers")).json()["code"] == "not_authenticated"
    bad = await client.get("/hq/dealers", headers={"Authorization": "Bearer not.a.token"})
    assert (bad.status_code, bad.json()["code"]) == (401, "token_invalid")
    past = datetime.now(UTC) - timedelta(hours=2)
    expired = issue_access_token(
        settings.auth, Principal(user_id=user.id, role=user.role), now=past
    )
    response = await client.get("/hq/dealers", headers={"Authorization": f"Bearer {expired}"})
    assert (response.status_code, response.json()["code"]) == (401, "token_expired")
    forged = issue_access_token(
        settings.auth.__class__(jwt_secret="someone-else-secret-" + "x" * 30),
        Principal(user_id=user.id, role=Role.HQ_ADMIN),
    )
    response = await client.get("/hq/dealers", headers={"Authorization": f"Bearer {forged}"})
    assert (response.status_code, response.json()["code"]) == (401, "token_invalid")


async def test_wrong_role_is_403(client: Client, db: Database, settings: Settings) -> None:
    dealer = await make_dealer(db)
    dealer_user = await make_user(db, Role.DEALER_ADMIN, dealer=dealer)
    rep = await make_user(db, Role.REP)
    for user in (dealer_user, rep):
        response = await client.get("/hq/dealers", headers=bearer(settings, user))
        assert response.status_code == 403
        assert response.json()["code"] == "role_forbidden"
    operator = await make_user(db, Role.HQ_OPERATOR)
    tier = await client.post(
        "/hq/tiers",
        json={"code": "vip", "nameZh": "贵宾", "nameEn": "VIP"},
        headers=bearer(settings, operator),
    )
    assert tier.status_code == 403


async def test_operator_cannot_create_hq_admins(
    client: Client, db: Database, settings: Settings
) -> None:
    operator = await make_user(db, Role.HQ_OPERATOR)
    response = await client.post(
        "/hq/users",
        json={"displayName": "x", "role": "hq_admin", "username": "x2", "password": "long-enough"},
        headers=bearer(settings, operator),
    )
    assert (response.status_code, response.json()["code"]) == (403, "hq_admin_required")


async def test_refresh_tokens_are_stored_hashed(client: Client, db: Database) -> None:
    await make_user(db, Role.HQ_ADMIN, username="boss", password="s3cret-pass")
    tokens = await login(client, "boss", "s3cret-pass")
    async with db.session() as s:
        stored = (await s.execute(select(RefreshToken.token_hash))).scalars().all()
        count = await s.scalar(select(func.count()).select_from(RefreshToken))
    assert count == 1
    assert tokens["refreshToken"] not in stored


async def test_throttle_is_shared_across_processes_through_redis(
    database_url: str, tmp_path: Path, redis_url: str, db: Database
) -> None:
    """Two API processes behind a load balancer count failed logins together."""
    import redis.asyncio as aioredis

    await make_user(
        db, Role.HQ_ADMIN, username=f"boss-{uuid.uuid4().hex[:6]}", password="s3cret-pass"
    )
    username = (await _usernames(db))[0]
    flush = aioredis.Redis.from_url(redis_url)
    await flush.flushdb()
    await flush.aclose()
    settings = make_settings(database_url, tmp_path, "http://127.0.0.1:9", redis_url=redis_url)
    first, second = create_app(settings), create_app(settings)
    async with (
        AsyncTestClient(first, base_url="http://a.local") as a,
        AsyncTestClient(second, base_url="http://b.local") as b,
    ):
        for n in range(5):
            client = a if n % 2 else b
            response = await client.post(
                "/auth/login", json={"username": username, "password": "wrong"}
            )
            assert response.status_code == 401
        blocked = await a.post(
            "/auth/login", json={"username": username, "password": "s3cret-pass"}
        )
        assert blocked.status_code == 429
        ready = await b.get("/ready")
        assert ready.json()["checks"]["redis"] == "ok"


async def _usernames(db: Database) -> list[str]:
    from server.identity.models import User

    async with db.session() as s:
        return [
            u
            for u in (
                await s.execute(select(User.username).where(User.username.is_not(None)))
            ).scalars()
            if u
        ]
