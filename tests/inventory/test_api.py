"""HQ inventory routes (figures, adjustments, ERP feed, policies) and dealer stock bands."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from server.db.engine import Database
from server.identity.models import Role
from server.inventory.models import StockMovement
from server.settings import Settings
from tests.factories import bearer, make_dealer, make_regions, make_sku, make_user, make_warehouse

Client = AsyncTestClient[Litestar]


async def movement_count(db: Database) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(StockMovement)) or 0)


async def test_erp_feed_is_idempotent_by_batch(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_regions(db)
    wh = await make_warehouse(db, code="HZ-01")
    await make_sku(db, code="BJ-500")
    await make_sku(db, code="BJ-250")
    h = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    batch = {
        "batchId": "erp-20261127-01",
        "items": [
            {"warehouseCode": "HZ-01", "skuCode": "BJ-500", "mode": "set", "quantity": 120},
            {"warehouseCode": "HZ-01", "skuCode": "BJ-250", "mode": "adjust", "quantity": 30},
            {"warehouseCode": "HZ-01", "skuCode": "NOPE", "mode": "set", "quantity": 1},
            {"warehouseCode": "HZ-01", "skuCode": "BJ-250", "mode": "adjust", "quantity": -31},
        ],
    }
    first = await client.post("/hq/inventory/feed", json=batch, headers=h)
    assert first.status_code == 200, first.text
    result = first.json()
    assert (result["applied"], result["rejected"], result["replayed"]) == (2, 2, False)
    assert [i["reason"] for i in result["items"]] == [
        None,
        None,
        "sku_unknown",
        "stock_below_reserved",
    ]
    moves = await movement_count(db)
    replay = await client.post("/hq/inventory/feed", json=batch, headers=h)
    assert replay.json() == {**result, "replayed": True}
    assert await movement_count(db) == moves
    changed = {**batch, "items": batch["items"][:1]}
    conflict = await client.post("/hq/inventory/feed", json=changed, headers=h)
    assert (conflict.status_code, conflict.json()["code"]) == (409, "feed_batch_mismatch")
    huge = await client.post(
        "/hq/inventory/feed",
        json={
            "batchId": "erp-2",
            "items": [
                {"warehouseCode": "HZ-01", "skuCode": "BJ-500", "mode": "set", "quantity": 10**12}
            ],
        },
        headers=h,
    )
    assert huge.status_code == 422
    page = (await client.get(f"/hq/inventory/warehouses/{wh.id}/stock", headers=h)).json()
    assert sorted((i["onHand"], i["available"]) for i in page["items"]) == [(30, 30), (120, 120)]
    # People read SKUs by code and name, not by id.
    assert sorted(i["skuCode"] for i in page["items"]) == ["BJ-250", "BJ-500"]
    assert all(i["skuName"] for i in page["items"])


async def test_adjustments_refuse_bad_quantities(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_regions(db)
    wh, sku = await make_warehouse(db), await make_sku(db)
    h = bearer(settings, await make_user(db, Role.HQ_OPERATOR))
    base = {"warehouseId": str(wh.id), "skuId": str(sku.id), "reason": "入库"}
    ok = await client.post(
        "/hq/inventory/adjustments", json={**base, "mode": "receipt", "quantity": 40}, headers=h
    )
    assert (ok.status_code, ok.json()["onHand"]) == (201, 40)
    for mode, quantity, status in (
        ("receipt", -1, 422),
        ("receipt", 0, 422),
        ("adjust", 0, 422),
        ("set", -5, 422),
        ("adjust", 10**9, 422),
        ("adjust", -41, 409),
    ):
        response = await client.post(
            "/hq/inventory/adjustments",
            json={**base, "mode": mode, "quantity": quantity},
            headers=h,
        )
        assert response.status_code == status, (mode, quantity, response.text)
    counted = await client.post(
        "/hq/inventory/adjustments", json={**base, "mode": "set", "quantity": 7}, headers=h
    )
    assert counted.json()["onHand"] == 7
    moves = await client.get(
        f"/hq/inventory/warehouses/{wh.id}/stock/{sku.id}/movements", headers=h
    )
    assert sorted((m["kind"], m["onHandDelta"], m["reason"]) for m in moves.json()) == [
        ("adjustment", -33, "入库"),
        ("receipt", 40, "入库"),
    ]
    one = await client.get(f"/hq/inventory/warehouses/{wh.id}/stock/{sku.id}", headers=h)
    assert (one.json()["onHand"], one.json()["reserved"]) == (7, 0)
    assert (one.json()["skuCode"], one.json()["skuName"]) == (sku.code, sku.name)


async def test_dealers_see_bands_for_their_warehouses_only(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_regions(db)
    dealer = await make_dealer(db, regions=("330106",))
    mine = await make_warehouse(db, region="330100")
    theirs = await make_warehouse(db, region="440100")
    low, out, plenty = await make_sku(db), await make_sku(db), await make_sku(db)
    h = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    for sku, quantity in ((low, 5), (plenty, 500)):
        await client.post(
            "/hq/inventory/adjustments",
            json={
                "warehouseId": str(mine.id),
                "skuId": str(sku.id),
                "mode": "receipt",
                "quantity": quantity,
                "reason": "入库",
            },
            headers=h,
        )
    assert (
        await client.put(
            f"/hq/inventory/warehouses/{mine.id}/policy",
            json={"safetyStock": 10, "priority": 5},
            headers=h,
        )
    ).status_code == 200
    assert (
        await client.put(
            f"/hq/inventory/skus/{plenty.id}/safety-stock", json={"quantity": 100}, headers=h
        )
    ).json()["quantity"] == 100
    me = bearer(settings, await make_user(db, Role.DEALER_STAFF, dealer=dealer))
    params = [("skuId", str(low.id)), ("skuId", str(out.id)), ("skuId", str(plenty.id))]
    bands = (await client.get("/mp/stock", params=params, headers=me)).json()
    assert [b["band"] for b in bands] == ["low", "out", "in_stock"]
    assert [(b["skuCode"], b["skuName"]) for b in bands] == [
        (s.code, s.name) for s in (low, out, plenty)
    ]
    assert [w["warehouseId"] for w in bands[0]["warehouses"]] == [str(mine.id)]
    assert "onHand" not in bands[0] and "available" not in bands[0]
    hidden = await client.get(
        "/mp/stock", params=[*params, ("warehouseId", str(theirs.id))], headers=me
    )
    assert (hidden.status_code, hidden.json()["code"]) == (404, "warehouse_not_found")
    regions = await client.put(
        f"/hq/inventory/warehouses/{theirs.id}/regions",
        json={"regions": [{"regionCode": "330000", "priority": 1}]},
        headers=h,
    )
    assert regions.json() == [{"regionCode": "330000", "priority": 1}]
    now_mine = await client.get(
        "/mp/stock", params=[*params, ("warehouseId", str(theirs.id))], headers=me
    )
    assert [b["band"] for b in now_mine.json()] == ["out", "out", "out"]
    assert (
        await client.get(f"/hq/inventory/warehouses/{mine.id}/stock", headers=me)
    ).status_code == 403
