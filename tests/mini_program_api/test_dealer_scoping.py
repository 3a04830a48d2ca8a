"""Every dealer-facing query is scoped to the token's dealer: another dealer's rows are 404."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.db.engine import Database
from server.identity.models import Role
from server.settings import Settings
from tests.factories import bearer, make_dealer, make_regions, make_user

Client = AsyncTestClient[Litestar]
ADDRESS = {
    "contactName": "王建国",
    "contactPhone": "13800000000",
    "regionCode": "330106",
    "detail": "文三路 100 号",
}


async def test_addresses_of_another_dealer_are_invisible(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_regions(db)
    a, b = await make_dealer(db), await make_dealer(db)
    alice = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=a))
    bob = bearer(settings, await make_user(db, Role.DEALER_STAFF, dealer=b))
    created = await client.post("/mp/addresses", json=ADDRESS, headers=alice)
    assert created.status_code == 201, created.text
    assert created.json()["isDefault"] is True
    address_id = created.json()["id"]
    assert (await client.get("/mp/addresses", headers=bob)).json() == []
    put = await client.put(f"/mp/addresses/{address_id}", json={"detail": "偷改"}, headers=bob)
    assert (put.status_code, put.json()["code"]) == (404, "address_not_found")
    assert (await client.delete(f"/mp/addresses/{address_id}", headers=bob)).status_code == 404
    mine = (await client.get("/mp/addresses", headers=alice)).json()
    assert [x["detail"] for x in mine] == ["文三路 100 号"]


async def test_default_address_moves(client: Client, db: Database, settings: Settings) -> None:
    await make_regions(db)
    dealer = await make_dealer(db)
    h = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=dealer))
    first = (await client.post("/mp/addresses", json=ADDRESS, headers=h)).json()
    second = (
        await client.post(
            "/mp/addresses", json={**ADDRESS, "detail": "仓库", "isDefault": True}, headers=h
        )
    ).json()
    listed = (await client.get("/mp/addresses", headers=h)).json()
    assert [(x["id"], x["isDefault"]) for x in listed] == [
        (second["id"], True),
        (first["id"], False),
    ]
    bad = await client.post("/mp/addresses", json={**ADDRESS, "regionCode": "999999"}, headers=h)
    assert (bad.status_code, bad.json()["code"]) == (422, "region_unknown")


async def test_hq_and_reps_cannot_use_dealer_routes(
    client: Client, db: Database, settings: Settings
) -> None:
    for role in (Role.HQ_ADMIN, Role.REP):
        response = await client.get(
            "/mp/addresses", headers=bearer(settings, await make_user(db, role))
        )
        assert response.status_code == 403
