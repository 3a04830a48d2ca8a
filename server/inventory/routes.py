"""HQ inventory: exact stock, adjustments, the ERP feed, safety stock, warehouse priorities."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.identity.guards import requires_hq
from server.identity.principal import Principal
from server.inventory import feed, policies
from server.inventory.availability import (
    StockFigures,
    one_stock,
    recent_movements,
    warehouse_stock,
)
from server.inventory.reservations import Reservation, get_reservation
from server.inventory.schemas import (
    BackorderOut,
    MovementOut,
    ReservationOut,
    ReservedLineOut,
    SafetyStockIn,
    SkuSafetyStockOut,
    StockAdjustmentIn,
    StockFeedIn,
    StockFeedResult,
    StockOut,
    WarehousePolicyIn,
    WarehousePolicyOut,
    WarehouseRegionOut,
    WarehouseRegionsIn,
)
from server.schemas import Page, path_text
from server.text import LINE_RULE

Limit = Annotated[int, QueryParameter(ge=1, le=500)]


def stock_out(f: StockFigures) -> StockOut:
    return StockOut(
        warehouse_id=f.warehouse_id,
        sku_id=f.sku_id,
        sku_code=f.sku_code,
        sku_name=f.sku_name,
        on_hand=f.on_hand,
        reserved=f.reserved,
        available=f.available,
        safety_stock=f.safety_stock,
        band=f.band,
    )


def reservation_out(r: Reservation) -> ReservationOut:
    return ReservationOut(
        id=r.id,
        reference=r.reference,
        status=r.status,
        dealer_id=r.dealer_id,
        lines=[
            ReservedLineOut(
                warehouse_id=x.warehouse_id,
                sku_id=x.sku_id,
                quantity=x.quantity,
                shipped=x.shipped,
                released=x.released,
                returned=x.returned,
            )
            for x in r.lines
        ],
        backordered=[BackorderOut(sku_id=b.sku_id, quantity=b.quantity) for b in r.backordered],
    )


class InventoryController(Controller):
    path = "/hq/inventory"
    tags = ("hq: inventory",)
    guards = (requires_hq,)

    @get("/warehouses/{warehouse_id:uuid}/stock", summary="Stock of a warehouse")
    async def list_stock(
        self,
        db_session: NamedDependency[AsyncSession],
        warehouse_id: FromPath[uuid.UUID],
        limit: Limit = 100,
        cursor: Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)] = None,
    ) -> Page[StockOut]:
        """Exact on-hand, reserved and available figures of every SKU in one warehouse."""
        rows, next_cursor = await warehouse_stock(db_session, warehouse_id, cursor, limit)
        return Page(items=[stock_out(f) for f in rows], next_cursor=next_cursor)

    @get(
        "/warehouses/{warehouse_id:uuid}/stock/{sku_id:uuid}",
        summary="Stock of a SKU in a warehouse",
    )
    async def one(
        self,
        db_session: NamedDependency[AsyncSession],
        warehouse_id: FromPath[uuid.UUID],
        sku_id: FromPath[uuid.UUID],
    ) -> StockOut:
        """Exact figures of one SKU in one warehouse."""
        return stock_out(await one_stock(db_session, warehouse_id, sku_id))

    @get(
        "/warehouses/{warehouse_id:uuid}/stock/{sku_id:uuid}/movements",
        summary="Movements of a SKU in a warehouse",
    )
    async def movements(
        self,
        db_session: NamedDependency[AsyncSession],
        warehouse_id: FromPath[uuid.UUID],
        sku_id: FromPath[uuid.UUID],
        limit: Limit = 100,
    ) -> list[MovementOut]:
        """The latest ledger movements (receipts, reservations, shipments...), newest first."""
        rows = await recent_movements(db_session, warehouse_id, sku_id, limit)
        return [
            MovementOut(
                id=m.id,
                at=m.at,
                kind=m.kind,
                on_hand_delta=m.on_hand_delta,
                reserved_delta=m.reserved_delta,
                reference=m.reference,
                reason=m.reason,
                actor_id=m.actor_id,
            )
            for m in rows
        ]

    @post("/adjustments", summary="Receive, adjust or count stock", opt={"problems": (409,)})
    async def adjust(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[StockAdjustmentIn],
    ) -> StockOut:
        """Record a receipt, an adjustment or a stock count with its reason (audited)."""
        return stock_out(await policies.apply_manual_adjustment(db_session, principal, data))

    @post("/feed", summary="ERP stock feed", status_code=200, opt={"problems": (409,)})
    async def erp_feed(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[StockFeedIn],
    ) -> StockFeedResult:
        """Bulk set or adjust stock; a replayed batch answers the stored result, changes nothing."""
        return await feed.apply_stock_feed(db_session, principal, data)

    @put("/skus/{sku_id:uuid}/safety-stock", summary="Set a SKU's safety stock")
    async def sku_safety(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        sku_id: FromPath[uuid.UUID],
        data: JSONBody[SafetyStockIn],
    ) -> SkuSafetyStockOut:
        """Below or at this available quantity dealers see the SKU as low (null removes it)."""
        quantity = await policies.set_sku_safety_stock(db_session, principal, sku_id, data.quantity)
        return SkuSafetyStockOut(sku_id=sku_id, quantity=quantity)

    @get("/warehouses/{warehouse_id:uuid}/policy", summary="A warehouse's stock policy")
    async def policy(
        self, db_session: NamedDependency[AsyncSession], warehouse_id: FromPath[uuid.UUID]
    ) -> WarehousePolicyOut:
        """Default safety stock and allocation priority of a warehouse."""
        p = await policies.get_warehouse_policy(db_session, warehouse_id)
        return WarehousePolicyOut(
            warehouse_id=p.warehouse_id, safety_stock=p.safety_stock, priority=p.priority
        )

    @put("/warehouses/{warehouse_id:uuid}/policy", summary="Set a warehouse's stock policy")
    async def set_policy(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        warehouse_id: FromPath[uuid.UUID],
        data: JSONBody[WarehousePolicyIn],
    ) -> WarehousePolicyOut:
        """Set the default safety stock and the allocation priority (lower goes first)."""
        p = await policies.set_warehouse_policy(db_session, principal, warehouse_id, data)
        return WarehousePolicyOut(
            warehouse_id=p.warehouse_id, safety_stock=p.safety_stock, priority=p.priority
        )

    @get("/warehouses/{warehouse_id:uuid}/regions", summary="Regions a warehouse ships to")
    async def regions(
        self, db_session: NamedDependency[AsyncSession], warehouse_id: FromPath[uuid.UUID]
    ) -> list[WarehouseRegionOut]:
        """The regions (and their sub-regions) a warehouse serves, with priorities."""
        rows = await policies.list_warehouse_regions(db_session, warehouse_id)
        return [WarehouseRegionOut(region_code=r.region_code, priority=r.priority) for r in rows]

    @put("/warehouses/{warehouse_id:uuid}/regions", summary="Set the regions a warehouse ships to")
    async def set_regions(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        warehouse_id: FromPath[uuid.UUID],
        data: JSONBody[WarehouseRegionsIn],
    ) -> list[WarehouseRegionOut]:
        """Replace a warehouse's served regions and their priorities (lower goes first)."""
        rows = await policies.set_warehouse_regions(db_session, principal, warehouse_id, data)
        return [WarehouseRegionOut(region_code=r.region_code, priority=r.priority) for r in rows]

    @get("/reservations/{reference:str}", summary="An order's stock reservation")
    async def reservation(
        self, db_session: NamedDependency[AsyncSession], reference: Annotated[str, path_text(64)]
    ) -> ReservationOut:
        """What is reserved, shipped, released and returned for one order reference."""
        return reservation_out(await get_reservation(db_session, reference))
