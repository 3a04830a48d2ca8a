"""HQ settings of inventory: safety stock, warehouse priorities and regions, manual adjustments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.catalog import require_sku
from server.db.dialect import upsert
from server.errors import Invalid
from server.identity.principal import Principal
from server.inventory.availability import StockFigures, one_stock
from server.inventory.hq_stock import adjust_stock, receive_stock, set_stock
from server.inventory.models import (
    SkuSafetyStock,
    StockLevel,
    WarehouseRegion,
    WarehouseStockPolicy,
)
from server.inventory.publication import publish_stock_change
from server.inventory.schemas import StockAdjustmentIn, WarehousePolicyIn, WarehouseRegionsIn
from server.regions import known_region_codes
from server.warehouses import require_warehouse


async def apply_manual_adjustment(
    session: AsyncSession, actor: Principal, body: StockAdjustmentIn
) -> StockFigures:
    """A receipt, an adjustment or a count entered by HQ, with its reason, audited."""
    reference = f"hq:{actor.user_id}"
    if body.mode == "receipt":
        await receive_stock(
            session,
            body.warehouse_id,
            body.sku_id,
            body.quantity,
            reference=reference,
            reason=body.reason,
            actor_id=actor.user_id,
        )
    elif body.mode == "adjust":
        await adjust_stock(
            session,
            body.warehouse_id,
            body.sku_id,
            body.quantity,
            reason=body.reason,
            reference=reference,
            actor_id=actor.user_id,
        )
    else:
        await set_stock(
            session,
            body.warehouse_id,
            body.sku_id,
            body.quantity,
            reason=body.reason,
            reference=reference,
            actor_id=actor.user_id,
        )
    record(
        session,
        actor,
        f"stock.{body.mode}",
        "warehouse",
        body.warehouse_id,
        {"sku_id": str(body.sku_id), "quantity": body.quantity, "reason": body.reason},
    )
    return await one_stock(session, body.warehouse_id, body.sku_id)


async def _publish_sku_everywhere(session: AsyncSession, sku_id: uuid.UUID) -> None:
    warehouses = (
        await session.execute(select(StockLevel.warehouse_id).where(StockLevel.sku_id == sku_id))
    ).scalars()
    for warehouse_id in warehouses:
        publish_stock_change(session, warehouse_id, [sku_id])


async def set_sku_safety_stock(
    session: AsyncSession, actor: Principal, sku_id: uuid.UUID, quantity: int | None
) -> int | None:
    """Set (or with ``None`` remove) a SKU's safety stock; it overrides warehouse defaults."""
    await require_sku(session, sku_id)
    if quantity is None:
        await session.execute(delete(SkuSafetyStock).where(SkuSafetyStock.sku_id == sku_id))
    else:
        values = {"sku_id": sku_id, "quantity": quantity}
        await session.execute(upsert(session, SkuSafetyStock, values))
    await _publish_sku_everywhere(session, sku_id)
    record(session, actor, "stock.safety_stock_set", "sku", sku_id, {"quantity": quantity})
    return quantity


async def get_warehouse_policy(
    session: AsyncSession, warehouse_id: uuid.UUID
) -> WarehouseStockPolicy:
    await require_warehouse(session, warehouse_id)
    policy = await session.get(WarehouseStockPolicy, warehouse_id)
    return policy or WarehouseStockPolicy(warehouse_id=warehouse_id, safety_stock=0, priority=100)


async def set_warehouse_policy(
    session: AsyncSession, actor: Principal, warehouse_id: uuid.UUID, body: WarehousePolicyIn
) -> WarehouseStockPolicy:
    """A warehouse's default safety stock and its allocation priority (lower goes first)."""
    await require_warehouse(session, warehouse_id)
    values = {
        "warehouse_id": warehouse_id,
        "safety_stock": body.safety_stock,
        "priority": body.priority,
    }
    await session.execute(upsert(session, WarehouseStockPolicy, values))
    policy = await session.get(WarehouseStockPolicy, warehouse_id, populate_existing=True)
    assert policy is not None  # written just above
    skus = (
        await session.execute(
            select(StockLevel.sku_id).where(StockLevel.warehouse_id == warehouse_id)
        )
    ).scalars()
    publish_stock_change(session, warehouse_id, list(skus))
    record(
        session,
        actor,
        "stock.warehouse_policy_set",
        "warehouse",
        warehouse_id,
        {"safety_stock": body.safety_stock, "priority": body.priority},
    )
    return policy


async def list_warehouse_regions(
    session: AsyncSession, warehouse_id: uuid.UUID
) -> Sequence[WarehouseRegion]:
    await require_warehouse(session, warehouse_id)
    stmt = (
        select(WarehouseRegion)
        .where(WarehouseRegion.warehouse_id == warehouse_id)
        .order_by(WarehouseRegion.priority, WarehouseRegion.region_code)
    )
    return (await session.execute(stmt)).scalars().all()


async def set_warehouse_regions(
    session: AsyncSession, actor: Principal, warehouse_id: uuid.UUID, body: WarehouseRegionsIn
) -> Sequence[WarehouseRegion]:
    """Replace the regions a warehouse ships to, each with a priority."""
    # The lock makes concurrent replacements take turns (delete-then-insert would collide).
    await require_warehouse(session, warehouse_id, for_update=True)
    codes = [r.region_code for r in body.regions]
    if len(set(codes)) != len(codes):
        raise Invalid(
            "region_repeated",
            "地区重复",
            "A region is listed twice",
            errors=[
                {
                    "key": "regions",
                    "message": "每个区域只能出现一次",
                    "message_en": "each region once",
                }
            ],
        )
    known = await known_region_codes(session, codes)
    missing = sorted(set(codes) - known)
    if missing:
        raise Invalid(
            "region_unknown",
            "地区编码不存在",
            "Unknown region codes",
            errors=[
                {
                    "key": "regions",
                    "message": f"未知区域：{'、'.join(missing)}",
                    "message_en": f"unknown: {', '.join(missing)}",
                }
            ],
        )
    await session.execute(
        delete(WarehouseRegion).where(WarehouseRegion.warehouse_id == warehouse_id)
    )
    session.add_all(
        [
            WarehouseRegion(
                warehouse_id=warehouse_id, region_code=r.region_code, priority=r.priority
            )
            for r in body.regions
        ]
    )
    await session.flush()
    record(
        session,
        actor,
        "stock.warehouse_regions_set",
        "warehouse",
        warehouse_id,
        {"regions": {r.region_code: r.priority for r in body.regions}},
    )
    return await list_warehouse_regions(session, warehouse_id)
