"""What dealers and HQ see of stock: bands for dealers, exact figures for HQ.

A (warehouse, SKU) is ``out`` when nothing is available, ``low`` when what is available is at
or below its safety stock (the SKU's own, else the warehouse's, else 0), ``in_stock`` above.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.service import sku_labels
from server.db.repository import keyset_page
from server.errors import NotFound
from server.inventory.allocation import dealer_warehouses
from server.inventory.models import (
    SkuSafetyStock,
    StockLevel,
    StockMovement,
    WarehouseStockPolicy,
)
from server.inventory.stock import read_levels


class StockBand(enum.StrEnum):
    IN_STOCK = "in_stock"
    LOW = "low"
    OUT = "out"


def band_of(available: int, safety_stock: int) -> StockBand:
    if available <= 0:
        return StockBand.OUT
    if available <= safety_stock:
        return StockBand.LOW
    return StockBand.IN_STOCK


class WarehouseBand(msgspec.Struct, frozen=True, kw_only=True):
    warehouse_id: uuid.UUID
    band: StockBand


class SkuBands(msgspec.Struct, frozen=True, kw_only=True):
    sku_id: uuid.UUID
    sku_code: str
    sku_name: str
    band: StockBand
    warehouses: tuple[WarehouseBand, ...]


class StockFigures(msgspec.Struct, frozen=True, kw_only=True):
    warehouse_id: uuid.UUID
    sku_id: uuid.UUID
    sku_code: str
    sku_name: str
    on_hand: int
    reserved: int
    available: int
    safety_stock: int
    band: StockBand


async def safety_stocks(
    session: AsyncSession, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """The safety stock that applies to each (warehouse, SKU)."""
    skus = {s for _, s in keys}
    warehouses = {w for w, _ in keys}
    by_sku = (
        {
            r.sku_id: r.quantity
            for r in (
                await session.execute(select(SkuSafetyStock).where(SkuSafetyStock.sku_id.in_(skus)))
            ).scalars()
        }
        if skus
        else {}
    )
    by_warehouse = (
        {
            r.warehouse_id: r.safety_stock
            for r in (
                await session.execute(
                    select(WarehouseStockPolicy).where(
                        WarehouseStockPolicy.warehouse_id.in_(warehouses)
                    )
                )
            ).scalars()
        }
        if warehouses
        else {}
    )
    return {(w, s): by_sku.get(s, by_warehouse.get(w, 0)) for w, s in keys}


async def dealer_stock_bands(
    session: AsyncSession,
    dealer_id: uuid.UUID,
    sku_ids: Sequence[uuid.UUID],
    warehouse_id: uuid.UUID | None = None,
) -> list[SkuBands]:
    """Bands of these SKUs in the warehouses serving the dealer (or in one of them; else 404)."""
    warehouses = await dealer_warehouses(session, dealer_id)
    if warehouse_id is not None:
        if warehouse_id not in warehouses:
            raise NotFound("warehouse_not_found", "仓库不存在", "warehouse not found")
        warehouses = [warehouse_id]
    unique = list(dict.fromkeys(sku_ids))
    keys = [(w, s) for w in warehouses for s in unique]
    levels = await read_levels(session, keys)
    safety = await safety_stocks(session, keys)
    labels = await sku_labels(session, unique)
    answer: list[SkuBands] = []
    for sku_id in unique:
        per_warehouse = []
        total = 0
        for w in warehouses:
            level = levels.get((w, sku_id))
            available = level.available if level else 0
            total += max(available, 0)
            per_warehouse.append(
                WarehouseBand(warehouse_id=w, band=band_of(available, safety[(w, sku_id)]))
            )
        overall_safety = max((safety[(w, sku_id)] for w in warehouses), default=0)
        answer.append(
            SkuBands(
                sku_id=sku_id,
                sku_code=labels.get(sku_id, ("", ""))[0],
                sku_name=labels.get(sku_id, ("", ""))[1],
                band=band_of(total, overall_safety),
                warehouses=tuple(per_warehouse),
            )
        )
    return answer


async def stock_figures(session: AsyncSession, levels: Sequence[StockLevel]) -> list[StockFigures]:
    safety = await safety_stocks(session, [(r.warehouse_id, r.sku_id) for r in levels])
    labels = await sku_labels(session, [r.sku_id for r in levels])
    return [
        StockFigures(
            warehouse_id=r.warehouse_id,
            sku_id=r.sku_id,
            sku_code=labels.get(r.sku_id, ("", ""))[0],
            sku_name=labels.get(r.sku_id, ("", ""))[1],
            on_hand=r.on_hand,
            reserved=r.reserved,
            available=r.available,
            safety_stock=safety[(r.warehouse_id, r.sku_id)],
            band=band_of(r.available, safety[(r.warehouse_id, r.sku_id)]),
        )
        for r in levels
    ]


async def warehouse_stock(
    session: AsyncSession, warehouse_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[StockFigures], str | None]:
    """Exact figures of one warehouse, a page at a time (HQ)."""
    stmt = select(StockLevel).where(StockLevel.warehouse_id == warehouse_id)
    rows, next_cursor = await keyset_page(session, stmt, StockLevel.sku_id, cursor, limit)
    return await stock_figures(session, list(rows)), next_cursor


async def one_stock(
    session: AsyncSession, warehouse_id: uuid.UUID, sku_id: uuid.UUID
) -> StockFigures:
    """Exact figures of one SKU in one warehouse (zeros when it never had stock)."""
    levels = await read_levels(session, [(warehouse_id, sku_id)])
    level = levels.get((warehouse_id, sku_id)) or StockLevel(
        warehouse_id=warehouse_id, sku_id=sku_id, on_hand=0, reserved=0
    )
    return (await stock_figures(session, [level]))[0]


async def recent_movements(
    session: AsyncSession, warehouse_id: uuid.UUID, sku_id: uuid.UUID, limit: int
) -> Sequence[StockMovement]:
    """The latest movements of one SKU in one warehouse, newest first (HQ audit view)."""
    stmt = (
        select(StockMovement)
        .where(StockMovement.warehouse_id == warehouse_id, StockMovement.sku_id == sku_id)
        .order_by(StockMovement.at.desc(), StockMovement.id)
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()
