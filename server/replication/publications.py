"""Turn what domains changed in a transaction into sync publications, just before it commits.

Domains only note what changed (``server.inventory.publication``,
``server.accounts.publication``, ``server.orders.publication``); publishing late and once per
key keeps the scope's version lock short and coalesces several writes of one request into
one change. All changes of one scope go out with one version bump, and scopes are taken in
name order, so two committing transactions never lock scope rows in opposite orders.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import dealer_balances
from server.accounts.ledger import balances_of
from server.accounts.publication import (
    locked_accounts,
    noted_rebate_terms,
    pending_balance_changes,
)
from server.accounts.schemas import balances_out
from server.db import fast
from server.dealers import rebate_terms
from server.inventory.availability import band_of, safety_stocks
from server.inventory.publication import noted_stock_levels, pending_stock_changes
from server.inventory.stock import read_levels
from server.orders import pending_order_changes
from server.orders.service import order_out
from server.replication.scopes import dealer_scope, stock_scope
from server.warehouses import warehouse_code
from sync import Op, publish_changes

_DONE = "replication.published"

Changes = dict[str, list[tuple[str, str, Op, Any]]]


async def publish_pending(session: AsyncSession) -> None:
    """Publish orders, stock bands and balances noted in this transaction (once per commit)."""
    changes: Changes = {}
    for order in pending_order_changes(session):
        state = inspect(order)
        if state.persistent:  # not an order a rolled-back savepoint took away
            if state.expired_attributes:
                await session.refresh(order)
            changes.setdefault(dealer_scope(order.dealer_id), []).append(
                ("order", str(order.id), "upsert", order_out(order))
            )
    done: set[object] = session.info.setdefault(_DONE, set())
    await _stock_changes(session, done, changes)
    for dealer_id in sorted(pending_balance_changes(session) - done, key=str):
        accounts = locked_accounts(session, dealer_id)
        balances = (
            balances_of(
                dealer_id,
                accounts,
                noted_rebate_terms(session, dealer_id) or await rebate_terms(session, dealer_id),
            )
            if accounts
            else await dealer_balances(session, dealer_id)
        )
        changes.setdefault(dealer_scope(dealer_id), []).append(
            ("balances", "balances", "upsert", balances_out(balances))
        )
        done.add(dealer_id)
    for scope in sorted(changes):
        await publish_changes(session, scope, changes[scope], run=fast.rows)


async def _stock_changes(session: AsyncSession, done: set[object], changes: Changes) -> None:
    """The stock bands to publish: keys noted with figures only when their band changed."""
    stock: dict[uuid.UUID, set[uuid.UUID]] = {
        w: {x for x in skus if (w, x) not in done}
        for w, skus in pending_stock_changes(session).items()
    }
    for (warehouse_id, sku_id), (before, after, safety) in noted_stock_levels(session).items():
        if band_of(before, safety) == band_of(after, safety):  # dealers would see no change
            stock.get(warehouse_id, set()).discard(sku_id)
    keys = [(w, s) for w, skus in stock.items() for s in skus]
    if not keys:
        return
    levels = await read_levels(session, keys)
    safety_by_key = await safety_stocks(session, keys)
    codes = {w: (await warehouse_code(session, w)) for w in stock if stock[w]}
    for warehouse_id, sku_id in sorted(keys, key=lambda k: (str(k[0]), str(k[1]))):
        code = codes.get(warehouse_id)
        if code is None:
            continue
        level = levels.get((warehouse_id, sku_id))
        band = band_of(level.available if level else 0, safety_by_key[(warehouse_id, sku_id)])
        changes.setdefault(stock_scope(code), []).append(
            (
                "stock_band",
                str(sku_id),
                "upsert",
                {"skuId": str(sku_id), "warehouse": code, "band": str(band)},
            )
        )
        done.add((warehouse_id, sku_id))
