"""Bad input gets problem+json with a stable code, in the caller's language, and changes nothing."""

from __future__ import annotations

import pytest
from litestar import Litestar, post
from litestar.di import NamedDependency
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.engine import Database
from server.db.errors import DuplicateKey, duplicate_keys_raised
from server.identity.models import Role
from server.regions.models import Region, RegionLevel
from server.settings import Settings
from tests.factories import bearer, make_user

Client = AsyncTestClient[Litestar]


async def region_count(db: Database) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(Region)) or 0)


async def test_malformed_json_unknown_fields_wrong_types(
    client: Client, db: Database, settings: Settings
) -> None:
    admin = await make_user(db, Role.HQ_ADMIN)
    headers = {**bearer(settings, admin), "Content-Type": "application/json"}
    # Not parseable: 400; parsed but against the schema: 422.
    cases = [
        (b"{not json", 400, "body_malformed"),
        (
            b'{"code": "330000", "name": "x", "level": "province", "surprise": 1}',
            422,
            "request_invalid",
        ),
        (b'{"code": 330000, "name": "x", "level": "province"}', 422, "request_invalid"),
        (b'{"code": "330000", "name": "x", "level": "planet"}', 422, "request_invalid"),
        (b"[]", 422, "request_invalid"),
        (b"", 422, "request_invalid"),
    ]
    for body, status, code in cases:
        response = await client.post("/hq/regions", content=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code, (body, response.json())
    assert await region_count(db) == 0


async def test_language_follows_accept_language(client: Client) -> None:
    zh = await client.get("/hq/dealers")
    assert zh.json()["detail"] == "请先登录"
    en = await client.get("/hq/dealers", headers={"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"})
    assert en.json()["detail"] == "Authentication required"
    assert en.headers["content-language"] == "en"
    ranked = await client.get("/hq/dealers", headers={"Accept-Language": "en;q=0.3, zh-CN;q=0.8"})
    assert ranked.json()["detail"] == "请先登录"


async def test_oversized_body_is_413(client: Client, db: Database, settings: Settings) -> None:
    admin = await make_user(db, Role.HQ_ADMIN)
    body = (
        b'{"code":"330000","name":"'
        + b"x" * (settings.max_body_bytes + 10)
        + b'","level":"province"}'
    )
    response = await client.post(
        "/hq/regions",
        content=body,
        headers={**bearer(settings, admin), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert await region_count(db) == 0


async def test_unknown_route_and_method(client: Client) -> None:
    missing = await client.get("/no/such/route")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    wrong = await client.patch("/health")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"


async def test_duplicate_is_409_and_the_first_stays(
    client: Client, db: Database, settings: Settings
) -> None:
    admin = await make_user(db, Role.HQ_ADMIN)
    body = {"code": "330000", "name": "浙江省", "level": "province"}
    assert (
        await client.post("/hq/regions", json=body, headers=bearer(settings, admin))
    ).status_code == 201
    again = await client.post(
        "/hq/regions", json={**body, "name": "别的"}, headers=bearer(settings, admin)
    )
    assert (again.status_code, again.json()["code"]) == (409, "region_exists")
    async with db.session() as s:
        assert (await s.get(Region, "330000")).name == "浙江省"  # type: ignore[union-attr]


async def test_failed_commit_is_5xx_never_2xx(app: Litestar, db: Database) -> None:
    """A handler that 'succeeds' but whose transaction cannot commit must not answer 2xx."""

    @post("/test-only/orphan", summary="test only")
    async def orphan(db_session: NamedDependency[AsyncSession]) -> dict[str, str]:
        # The parent does not exist: the foreign key fails when the dependency commits.
        db_session.add(
            Region(code="999999", name="孤儿", level=RegionLevel.CITY, parent_code="000000")
        )
        return {"status": "created"}

    app.register(orphan)
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        response = await client.post("/test-only/orphan")
    assert response.status_code >= 500
    assert response.json()["code"] == "internal_error"
    assert await region_count(db) == 0


async def test_a_taken_key_is_raised_as_duplicate_key_and_the_transaction_goes_on(
    db: Database,
) -> None:
    """The one translation of a unique refusal: DuplicateKey, after which the savepoint is
    undone and the transaction still works; any other integrity refusal passes unchanged."""
    async with db.session() as s:
        s.add(Region(code="110000", name="北京市", level=RegionLevel.PROVINCE))
        await s.commit()
    async with db.session() as s:
        with pytest.raises(DuplicateKey), duplicate_keys_raised():
            async with s.begin_nested():
                s.add(Region(code="110000", name="又一个", level=RegionLevel.PROVINCE))
                await s.flush()
        # A foreign key refused, not a taken key: it passes unchanged.
        with pytest.raises(IntegrityError) as refused, duplicate_keys_raised():
            async with s.begin_nested():
                s.add(
                    Region(code="110100", name="孤儿", level=RegionLevel.CITY, parent_code="990000")
                )
                await s.flush()
        assert not isinstance(refused.value, DuplicateKey)
        s.add(Region(code="120000", name="天津市", level=RegionLevel.PROVINCE))
        await s.commit()
    assert await region_count(db) == 2
