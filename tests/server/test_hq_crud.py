"""HQ administration of regions, warehouses, tiers, dealers and users, with audit."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from server.audit.models import AuditEvent
from server.db.engine import Database
from server.identity.models import Role
from server.settings import Settings
from tests.factories import bearer, make_regions, make_tiers, make_user

Client = AsyncTestClient[Litestar]


async def test_region_hierarchy_rules(client: Client, db: Database, settings: Settings) -> None:
    h = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    assert (
        await client.post(
            "/hq/regions", json={"code": "330000", "name": "浙江省", "level": "province"}, headers=h
        )
    ).status_code == 201
    no_parent = await client.post(
        "/hq/regions", json={"code": "330100", "name": "杭州市", "level": "city"}, headers=h
    )
    assert (no_parent.status_code, no_parent.json()["code"]) == (422, "region_parent_required")
    ok = await client.post(
        "/hq/regions",
        json={"code": "330100", "name": "杭州市", "level": "city", "parentCode": "330000"},
        headers=h,
    )
    assert ok.status_code == 201
    wrong_level = await client.post(
        "/hq/regions",
        json={"code": "330101", "name": "x", "level": "city", "parentCode": "330100"},
        headers=h,
    )
    assert wrong_level.json()["code"] == "region_parent_level"
    missing_parent = await client.post(
        "/hq/regions",
        json={"code": "110100", "name": "x", "level": "city", "parentCode": "110000"},
        headers=h,
    )
    assert missing_parent.status_code == 404
    busy = await client.delete("/hq/regions/330000", headers=h)
    assert (busy.status_code, busy.json()["code"]) == (409, "region_has_children")
    children = await client.get("/hq/regions", params={"parentCode": "330000"}, headers=h)
    assert [r["code"] for r in children.json()["items"]] == ["330100"]


async def test_region_in_use_by_warehouse_cannot_be_deleted(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_regions(db)
    h = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    wh = await client.post(
        "/hq/warehouses", json={"code": "WH-1", "name": "杭州仓", "regionCode": "330106"}, headers=h
    )
    assert wh.status_code == 201, wh.text
    response = await client.delete("/hq/regions/330106", headers=h)
    assert (response.status_code, response.json()["code"]) == (409, "region_in_use")
    update = await client.put(
        f"/hq/warehouses/{wh.json()['id']}", json={"active": False}, headers=h
    )
    assert update.json()["active"] is False
    dup = await client.post(
        "/hq/warehouses", json={"code": "WH-1", "name": "重复", "regionCode": "330106"}, headers=h
    )
    assert dup.status_code == 409


async def test_dealer_lifecycle_and_two_level_distribution(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_regions(db)
    await make_tiers(db)
    h = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    parent = await client.post(
        "/hq/dealers",
        json={"code": "D1", "name": "杭州鑫源商贸", "tierCode": "core", "regionCodes": ["330100"]},
        headers=h,
    )
    assert parent.status_code == 201, parent.text
    child = await client.post(
        "/hq/dealers",
        json={
            "code": "D2",
            "name": "西湖分销",
            "tierCode": "growth",
            "regionCodes": ["330106"],
            "parentId": parent.json()["id"],
        },
        headers=h,
    )
    assert child.status_code == 201
    grandchild = await client.post(
        "/hq/dealers",
        json={"code": "D3", "name": "三级", "tierCode": "watch", "parentId": child.json()["id"]},
        headers=h,
    )
    assert (grandchild.status_code, grandchild.json()["code"]) == (422, "dealer_parent_depth")
    unknown = await client.post(
        "/hq/dealers",
        json={"code": "D4", "name": "x", "tierCode": "core", "regionCodes": ["999999"]},
        headers=h,
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "region_unknown")
    bad_tier = await client.post(
        "/hq/dealers", json={"code": "D5", "name": "x", "tierCode": "gold"}, headers=h
    )
    assert bad_tier.status_code == 404
    moved = await client.put(
        f"/hq/dealers/{parent.json()['id']}", json={"regionCodes": ["330000", "440100"]}, headers=h
    )
    assert moved.json()["regionCodes"] == ["330000", "440100"]
    listed = await client.get("/hq/dealers", params={"tier": "growth"}, headers=h)
    assert [d["code"] for d in listed.json()["items"]] == ["D2"]
    by_region = await client.get("/hq/dealers", params={"region": "440100"}, headers=h)
    assert [d["code"] for d in by_region.json()["items"]] == ["D1"]


async def test_cursor_pagination_walks_every_row_once(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_tiers(db)
    h = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    for n in range(7):
        assert (
            await client.post(
                "/hq/dealers",
                json={"code": f"D{n}", "name": f"经销商{n}", "tierCode": "core"},
                headers=h,
            )
        ).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/hq/dealers", params=params, headers=h)).json()
        seen += [d["code"] for d in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [f"D{n}" for n in range(7)]
    bad = await client.get("/hq/dealers", params={"cursor": "%%%"}, headers=h)
    assert bad.status_code == 400


async def test_changes_are_audited(client: Client, db: Database, settings: Settings) -> None:
    admin = await make_user(db, Role.HQ_ADMIN)
    await make_tiers(db)
    response = await client.put(
        "/hq/tiers/watch",
        json={"creditDays": 7},
        headers={**bearer(settings, admin), "X-Request-ID": "req-42"},
    )
    assert response.status_code == 200
    assert response.json()["creditDays"] == 7
    async with db.session() as s:
        events = (
            (await s.execute(select(AuditEvent).where(AuditEvent.action == "tier.updated")))
            .scalars()
            .all()
        )
    assert len(events) == 1
    assert events[0].actor_id == admin.id
    assert events[0].data == {"credit_days": 7}
    assert events[0].request_id == "req-42"


async def test_user_roles_need_matching_dealer(
    client: Client, db: Database, settings: Settings
) -> None:
    h = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    response = await client.post(
        "/hq/users", json={"displayName": "店员", "role": "dealer_staff"}, headers=h
    )
    assert (response.status_code, response.json()["code"]) == (422, "dealer_required")
    half = await client.post(
        "/hq/users", json={"displayName": "x", "role": "rep", "username": "rep9"}, headers=h
    )
    assert half.json()["code"] == "credentials_incomplete"
    ok = await client.post(
        "/hq/users",
        json={
            "displayName": "业务员",
            "role": "rep",
            "username": "rep9",
            "password": "long-enough",
        },
        headers=h,
    )
    assert ok.status_code == 201
    taken = await client.post(
        "/hq/users",
        json={"displayName": "y", "role": "rep", "username": "rep9", "password": "long-enough"},
        headers=h,
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "username_taken")
