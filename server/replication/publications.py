"""Turn what domains changed in a transaction into sync publications, just before it commits.

Domains only note what changed (``server.inventory.publication``,
``server.accounts.publication``); publishing late and once per key keeps the scope's version
lock short and coalesces several writes of one request into one change.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.funds import dealer_balances
from server.accounts.publication import pending_balance_changes
from server.inventory.availability import band_of, safety_stocks
from server.inventory.publication import pending_stock_changes
from server.inventory.stock import read_levels
from server.orders.publication import pending_order_changes
from server.orders.service import order_out
from server.replication.scopes import dealer_scope, stock_scope
from server.warehouses.models import Warehouse
from sync import publish, publish_many

_DONE = "replication.published"


async def publish_pending(session: AsyncSession) -> None:
    """Publish orders, stock bands and balances noted in this transaction (once per commit)."""
    for order in pending_order_changes(session):
        state = inspect(order)
        if state.persistent:  # not an order a rolled-back savepoint took away
            if state.expired_attributes:
                await session.refresh(order)
            await publish(
                session,
                dealer_scope(order.dealer_id),
                "order",
                str(order.id),
                "upsert",
                order_out(order),
            )
    stock = pending_stock_changes(session)
    balances = pending_balance_changes(session)
    done: set[object] = session.info.setdefault(_DONE, set())
    stock = {w: s - {(w, x) for x in s if (w, x) in done} for w, s in stock.items()}
    if any(stock.values()):
        await _publish_stock(session, stock, done)
    for dealer_id in sorted(balances - done, key=str):
        b = await dealer_balances(session, dealer_id)
        await publish(session, dealer_scope(dealer_id), "balances", "balances", "upsert", b)
        done.add(dealer_id)


async def _publish_stock(session: AsyncSession, stock: dict, done: set[object]) -> None:  # type: ignore[type-arg]
    keys = [(w, s) for w, skus in stock.items() for s in skus]
    levels = await read_levels(session, keys)
    safety = await safety_stocks(session, keys)
    codes = {w: (await session.get(Warehouse, w)) for w in stock}
    changes: dict[str, list[tuple[str, Literal["upsert"], dict[str, str]]]] = {}
    for warehouse_id, sku_id in sorted(keys, key=lambda k: (str(k[0]), str(k[1]))):
        warehouse = codes[warehouse_id]
        if warehouse is None:
            continue
        level = levels.get((warehouse_id, sku_id))
        band = band_of(level.available if level else 0, safety[(warehouse_id, sku_id)])
        changes.setdefault(stock_scope(warehouse.code), []).append(
            (
                str(sku_id),
                "upsert",
                {"skuId": str(sku_id), "warehouse": warehouse.code, "band": str(band)},
            )
        )
        done.add((warehouse_id, sku_id))
    # One version bump per warehouse scope: its row lock is taken once, late, and briefly.
    for scope in sorted(changes):
        await publish_many(session, scope, "stock_band", changes[scope])
