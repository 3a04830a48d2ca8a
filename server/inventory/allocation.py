"""Choosing warehouses for a dealer's order lines.

A warehouse serves a dealer when it is linked (``warehouse_regions``) to one of the dealer's
regions or an ancestor of one, or is itself located in such a region. Candidates are taken
by priority (the link's, else the warehouse policy's, default 100; lower first), then the
more specific region, then the warehouse code. A line is split across warehouses when one
cannot cover it; what no warehouse can cover is backordered when the caller allows it,
otherwise the whole order is refused with the short lines named.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Uuid, and_, any_, bindparam, func, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import fast
from server.db.dialect import is_postgresql
from server.dealers import get_dealer
from server.errors import Conflict, Invalid, NotFound
from server.inventory.models import StockLevel, WarehouseRegion, WarehouseStockPolicy
from server.inventory.reservations import (
    OrderLine,
    Reservation,
    StockLine,
    get_reservation,
    reserve_new,
    reserve_stock,
)
from server.inventory.short_lines import labelled
from server.inventory.stock import check_quantity, read_available
from server.regions import ancestry_cte
from server.warehouses import warehouses_table

DEFAULT_PRIORITY = 100
_RETRIES = 3


class Allocation(msgspec.Struct, frozen=True, kw_only=True):
    lines: tuple[StockLine, ...]
    backordered: tuple[OrderLine, ...] = ()


def _serving_statement(*, array: bool) -> Any:
    # The regions' ancestry and the warehouses' columns come from their owners' read models.
    up = ancestry_cte(array=array)
    warehouse = warehouses_table().c
    linked = (
        select(warehouse.id, warehouse.code, WarehouseRegion.priority, up.c.depth)
        .join(warehouses_table(), warehouse.id == WarehouseRegion.warehouse_id)
        .join(up, up.c.code == WarehouseRegion.region_code)
        .where(warehouse.active.is_(True))
    )
    located = (
        select(
            warehouse.id,
            warehouse.code,
            func.coalesce(WarehouseStockPolicy.priority, DEFAULT_PRIORITY),
            up.c.depth,
        )
        .join(up, up.c.code == warehouse.region_code)
        .outerjoin(WarehouseStockPolicy, WarehouseStockPolicy.warehouse_id == warehouse.id)
        .where(warehouse.active.is_(True))
    )
    return union_all(linked, located)


# Built once (it runs on every order): a recursive CTE walks from the regions up to the root
# with the distance from the dealer's own region; warehouses linked to one of those regions
# (the link's priority) or located in one (the warehouse policy's priority) come back.
_SERVING = _serving_statement(array=False)
_SERVING_PG = _serving_statement(array=True)  # the codes as one array (server.db.fast)


def _serving_stock_statement() -> Any:
    """PostgreSQL: the serving warehouses with what is available of the given SKUs in each."""
    serving = _SERVING_PG.subquery("serving")
    levels = StockLevel.__table__
    return select(*serving.c, levels.c.sku_id, levels.c.on_hand - levels.c.reserved).select_from(
        serving.outerjoin(
            levels,
            and_(
                levels.c.warehouse_id == serving.c.id,
                levels.c.sku_id == any_(bindparam("skus", type_=ARRAY(Uuid))),
            ),
        )
    )


_SERVING_STOCK_PG = _serving_stock_statement()


def _ranked(ranks: dict[uuid.UUID, tuple[int, int, str]], row: Sequence[Any]) -> uuid.UUID:
    warehouse_id, code, priority, depth = row[:4]
    rank = (int(priority), int(depth), str(code))
    ranks[warehouse_id] = min(rank, ranks.get(warehouse_id, rank))
    return warehouse_id


async def serving_warehouses(session: AsyncSession, region_codes: Sequence[str]) -> list[uuid.UUID]:
    """Active warehouses serving these regions, best first (one statement)."""
    if not region_codes:
        return []
    ranks: dict[uuid.UUID, tuple[int, int, str]] = {}
    statement = _SERVING_PG if is_postgresql(session) else _SERVING
    for row in await fast.rows(session, statement, {"codes": sorted(set(region_codes))}):
        _ranked(ranks, row)
    return sorted(ranks, key=lambda w: ranks[w])


async def _serving_stock(
    session: AsyncSession, region_codes: Sequence[str], skus: Sequence[uuid.UUID]
) -> tuple[list[uuid.UUID], dict[tuple[uuid.UUID, uuid.UUID], int]]:
    """The serving warehouses, best first, and what each has available of ``skus``."""
    if not is_postgresql(session) or not region_codes:
        warehouses = await serving_warehouses(session, region_codes)
        keys = [(w, s) for w in warehouses for s in skus]
        return warehouses, await read_available(session, keys)
    ranks: dict[uuid.UUID, tuple[int, int, str]] = {}
    available: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    params = {"codes": sorted(set(region_codes)), "skus": list(skus)}
    for row in await fast.rows(session, _SERVING_STOCK_PG, params):  # one trip, not two
        warehouse_id = _ranked(ranks, row)
        if row[4] is not None:
            available[(warehouse_id, row[4])] = int(row[5])
    return sorted(ranks, key=lambda w: ranks[w]), available


async def dealer_warehouses(session: AsyncSession, dealer_id: uuid.UUID) -> list[uuid.UUID]:
    """The warehouses that serve a dealer, best first."""
    dealer = await get_dealer(session, dealer_id)
    return await serving_warehouses(session, dealer.region_codes)


def _merge(lines: Sequence[OrderLine]) -> dict[uuid.UUID, int]:
    if not lines:
        raise Invalid("lines_empty", "至少需要一行", "At least one line is required")
    merged: dict[uuid.UUID, int] = {}
    for line in lines:
        check_quantity(line.quantity)
        merged[line.sku_id] = check_quantity(merged.get(line.sku_id, 0) + line.quantity)
    return merged


async def allocate(
    session: AsyncSession,
    dealer_id: uuid.UUID,
    lines: Sequence[OrderLine],
    *,
    allow_backorder: bool,
    region_codes: Sequence[str] | None = None,
) -> Allocation:
    """Split each line over the dealer's warehouses by priority (reads only; reserves nothing).

    ``region_codes``: the dealer's regions when the caller has them already loaded.
    """
    wanted = _merge(lines)
    if region_codes is None:
        region_codes = (await get_dealer(session, dealer_id)).region_codes
    warehouses, available = await _serving_stock(session, region_codes, list(wanted))
    chosen: list[StockLine] = []
    missing: list[OrderLine] = []
    for sku_id, quantity in wanted.items():
        remaining = quantity
        for warehouse_id in warehouses:
            take = min(remaining, available.get((warehouse_id, sku_id), 0))
            if take > 0:
                chosen.append(StockLine(warehouse_id=warehouse_id, sku_id=sku_id, quantity=take))
                remaining -= take
            if remaining == 0:
                break
        if remaining:
            missing.append(OrderLine(sku_id=sku_id, quantity=remaining))
    if missing and not allow_backorder:
        raise Conflict(
            "stock_insufficient",
            "库存不足",
            "Not enough stock for some lines",
            shortLines=await labelled(
                session,
                [
                    {
                        "skuId": str(m.sku_id),
                        "requested": wanted[m.sku_id],
                        "available": wanted[m.sku_id] - m.quantity,
                    }
                    for m in missing
                ],
            ),
        )
    return Allocation(lines=tuple(chosen), backordered=tuple(missing))


async def reserve_for_dealer(
    session: AsyncSession,
    reference: str,
    dealer_id: uuid.UUID,
    lines: Sequence[OrderLine],
    *,
    allow_backorder: bool,
    region_codes: Sequence[str] | None = None,
    new_reference: bool = False,
) -> Reservation:
    """Allocate and reserve in one step; a race lost to another order re-allocates (3 tries).

    Idempotent by reference: an order already reserved answers its reservation. A caller that
    knows the reference is new (``new_reference``: the order it is creating) skips that lookup;
    see ``reserve_new``.
    """
    if not new_reference:
        try:
            return await get_reservation(session, reference)
        except NotFound:
            pass
    reserve = reserve_new if new_reference else reserve_stock
    for attempt in range(_RETRIES):
        allocation = await allocate(
            session, dealer_id, lines, allow_backorder=allow_backorder, region_codes=region_codes
        )
        if not allocation.lines:
            raise Conflict(
                "stock_insufficient",
                "库存不足",
                "Nothing of this order is in stock",
                shortLines=await labelled(
                    session,
                    [
                        {"skuId": str(b.sku_id), "requested": b.quantity, "available": 0}
                        for b in allocation.backordered
                    ],
                ),
            )
        try:
            return await reserve(
                session,
                reference,
                allocation.lines,
                dealer_id=dealer_id,
                backordered=allocation.backordered,
            )
        except Conflict as exc:
            if exc.code != "stock_insufficient" or attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")
