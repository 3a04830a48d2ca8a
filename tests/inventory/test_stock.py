"""Stock services: receipts, reservations, shipments, returns, allocation; the ledger rebuilds."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from server.db.engine import Database
from server.db.session import transaction
from server.errors import Conflict, Invalid, NotFound
from server.inventory import (
    OrderLine,
    StockLine,
    allocate,
    level_drift,
    receive_stock,
    release_reservation,
    reserve_for_dealer,
    reserve_stock,
    return_stock,
    ship_reserved,
)
from server.inventory.models import (
    ReservationStatus,
    StockMovement,
    WarehouseRegion,
    WarehouseStockPolicy,
)
from server.inventory.publication import noted_stock_levels, pending_stock_changes
from server.inventory.reservations import reserve_new
from server.inventory.stock import MAX_QUANTITY, read_level
from tests.factories import make_dealer, make_regions, make_sku, make_warehouse


async def test_reserve_ship_release_return_keep_figures_and_ledger(db: Database) -> None:
    await make_regions(db)
    wh, sku = await make_warehouse(db), await make_sku(db)
    async with transaction(db) as s:
        await receive_stock(s, wh.id, sku.id, 10)
        r = await reserve_stock(
            s, "SO-1", [StockLine(warehouse_id=wh.id, sku_id=sku.id, quantity=4)]
        )
        assert r.status is ReservationStatus.OPEN
        assert pending_stock_changes(s) == {wh.id: {sku.id}}
    async with transaction(db) as s:
        again = await reserve_stock(
            s, "SO-1", [StockLine(warehouse_id=wh.id, sku_id=sku.id, quantity=4)]
        )
        assert again.id == r.id  # idempotent by reference
        with pytest.raises(Conflict) as other:
            await reserve_stock(
                s, "SO-1", [StockLine(warehouse_id=wh.id, sku_id=sku.id, quantity=5)]
            )
        assert other.value.code == "reservation_exists"
        shipped = await ship_reserved(
            s, "SO-1", [StockLine(warehouse_id=wh.id, sku_id=sku.id, quantity=3)]
        )
        assert shipped.lines[0].shipped == 3 and shipped.status is ReservationStatus.OPEN
        released = await release_reservation(s, "SO-1")
        assert released.status is ReservationStatus.SHIPPED and released.lines[0].released == 1
        assert (
            await release_reservation(s, "SO-1")
        ).lines == released.lines  # twice changes nothing
        await return_stock(s, "SO-1", [StockLine(warehouse_id=wh.id, sku_id=sku.id, quantity=2)])
        with pytest.raises(Invalid) as too_many:
            await return_stock(
                s, "SO-1", [StockLine(warehouse_id=wh.id, sku_id=sku.id, quantity=2)]
            )
        assert too_many.value.code == "return_exceeds_shipment"
        level = await read_level(s, wh.id, sku.id)
        assert level is not None and (level.on_hand, level.reserved) == (10 - 3 + 2, 0)
        assert await level_drift(s) == []


async def test_reservation_is_all_or_nothing_and_names_short_lines(db: Database) -> None:
    await make_regions(db)
    wh, a, b = await make_warehouse(db), await make_sku(db), await make_sku(db)
    async with transaction(db) as s:
        await receive_stock(s, wh.id, a.id, 5)
        await receive_stock(s, wh.id, b.id, 1)
    async with transaction(db) as s:
        with pytest.raises(Conflict) as exc:
            await reserve_stock(
                s,
                "SO-2",
                [
                    StockLine(warehouse_id=wh.id, sku_id=a.id, quantity=5),
                    StockLine(warehouse_id=wh.id, sku_id=b.id, quantity=2),
                ],
            )
        assert exc.value.code == "stock_insufficient"
        assert exc.value.extra["shortLines"] == [
            {
                "warehouseId": str(wh.id),
                "skuId": str(b.id),
                "skuCode": b.code,
                "skuName": b.name,
                "requested": 2,
                "available": 1,
            }
        ]
        level = await read_level(s, wh.id, a.id)
        assert level is not None and level.reserved == 0
        with pytest.raises(NotFound):
            await release_reservation(s, "SO-2")


async def test_short_line_of_a_new_reservation_moves_nothing_without_a_savepoint(
    db: Database,
) -> None:
    """``reserve_new`` has no savepoint: lines already moved are moved back in place."""
    await make_regions(db)
    wh = await make_warehouse(db)
    a, b, c = await make_sku(db), await make_sku(db), await make_sku(db)
    async with transaction(db) as s:
        for sku, quantity in ((a, 5), (b, 1), (c, 7)):
            await receive_stock(s, wh.id, sku.id, quantity)
    async with transaction(db) as s:
        movements = await s.scalar(select(func.count()).select_from(StockMovement))
        with pytest.raises(Conflict) as exc:
            await reserve_new(
                s,
                "SO-NEW",
                [
                    StockLine(warehouse_id=wh.id, sku_id=a.id, quantity=5),
                    StockLine(warehouse_id=wh.id, sku_id=b.id, quantity=2),
                    StockLine(warehouse_id=wh.id, sku_id=c.id, quantity=7),
                ],
            )
        assert exc.value.code == "stock_insufficient"
        assert [line["skuId"] for line in exc.value.extra["shortLines"]] == [str(b.id)]
        # The moved-back rows note no band change: nothing would be published.
        assert all(before == after for before, after, _ in noted_stock_levels(s).values())
    async with db.session() as s:  # committed: the refusal kept nothing
        for sku, on_hand in ((a, 5), (b, 1), (c, 7)):
            level = await read_level(s, wh.id, sku.id)
            assert level is not None and (level.on_hand, level.reserved) == (on_hand, 0)
        assert await s.scalar(select(func.count()).select_from(StockMovement)) == movements
        assert await level_drift(s) == []


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1, 10**30, True])
async def test_bad_quantities_are_refused(db: Database, quantity: int) -> None:
    await make_regions(db)
    wh, sku = await make_warehouse(db), await make_sku(db)
    async with transaction(db) as s:
        with pytest.raises(Invalid):
            await receive_stock(s, wh.id, sku.id, quantity)
        with pytest.raises(Invalid):
            await reserve_stock(
                s, "SO-3", [StockLine(warehouse_id=wh.id, sku_id=sku.id, quantity=quantity)]
            )


async def test_allocation_by_priority_splits_and_backorders(db: Database) -> None:
    await make_regions(db)
    dealer = await make_dealer(db, regions=("330106",))
    near = await make_warehouse(db, region="330100", code="NEAR")
    province = await make_warehouse(db, region="330000", code="PROV")
    far = await make_warehouse(db, region="440100", code="FAR")
    sku = await make_sku(db)
    async with transaction(db) as s:
        for w in (near, province, far):
            await receive_stock(s, w.id, sku.id, 5)
        # The province warehouse is preferred over the city one by its policy priority.
        s.add(WarehouseStockPolicy(warehouse_id=province.id, safety_stock=0, priority=10))
    async with transaction(db) as s:
        allocation = await allocate(
            s, dealer.id, [OrderLine(sku_id=sku.id, quantity=7)], allow_backorder=False
        )
        assert [(x.warehouse_id, x.quantity) for x in allocation.lines] == [
            (province.id, 5),
            (near.id, 2),
        ]
        with pytest.raises(Conflict) as short:
            await allocate(
                s, dealer.id, [OrderLine(sku_id=sku.id, quantity=12)], allow_backorder=False
            )
        assert short.value.extra["shortLines"] == [
            {
                "skuId": str(sku.id),
                "skuCode": sku.code,
                "skuName": sku.name,
                "requested": 12,
                "available": 10,
            }
        ]
        # A far warehouse linked to the dealer's province serves it too.
        s.add(WarehouseRegion(warehouse_id=far.id, region_code="330000", priority=1))
    async with transaction(db) as s:
        reservation = await reserve_for_dealer(
            s, "SO-4", dealer.id, [OrderLine(sku_id=sku.id, quantity=17)], allow_backorder=True
        )
        assert [(x.warehouse_id, x.quantity) for x in reservation.lines] == sorted(
            [(far.id, 5), (province.id, 5), (near.id, 5)], key=lambda t: str(t[0])
        )
        assert [(b.sku_id, b.quantity) for b in reservation.backordered] == [(sku.id, 2)]
        same = await reserve_for_dealer(
            s, "SO-4", dealer.id, [OrderLine(sku_id=sku.id, quantity=17)], allow_backorder=True
        )
        assert same.id == reservation.id and same.backordered == reservation.backordered


async def test_unknown_warehouse_or_sku_is_not_found(db: Database) -> None:
    await make_regions(db)
    wh = await make_warehouse(db)
    async with transaction(db) as s:
        with pytest.raises(NotFound):
            await receive_stock(s, wh.id, uuid.uuid4(), 1)


async def test_ledger_rows_cannot_be_changed_or_deleted(db: Database) -> None:
    await make_regions(db)
    wh, sku = await make_warehouse(db), await make_sku(db)
    async with transaction(db) as s:
        await receive_stock(s, wh.id, sku.id, 3)
    for statement in (update(StockMovement).values(on_hand_delta=300), delete(StockMovement)):
        with pytest.raises(DBAPIError, match="append-only"):
            async with transaction(db) as s:
                await s.execute(statement)
    async with db.session(write=False) as s:
        assert await level_drift(s) == []
