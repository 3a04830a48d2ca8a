"""Audits of the stock ledger: balances rebuilt from the movements alone, and their drift."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.inventory.models import StockLevel, StockMovement
from server.inventory.stock import Key


async def rebuild_levels(session: AsyncSession) -> dict[Key, tuple[int, int]]:
    """(on_hand, reserved) of every (warehouse, SKU), summed from the movement ledger alone."""
    rows = await session.execute(
        select(
            StockMovement.warehouse_id,
            StockMovement.sku_id,
            func.sum(StockMovement.on_hand_delta),
            func.sum(StockMovement.reserved_delta),
        ).group_by(StockMovement.warehouse_id, StockMovement.sku_id)
    )
    return {(w, s): (int(h or 0), int(r or 0)) for w, s, h, r in rows}


async def level_drift(session: AsyncSession) -> list[tuple[Key, tuple[int, int], tuple[int, int]]]:
    """Levels whose cached figures differ from the ledger: (key, stored, rebuilt); [] if sound."""
    rebuilt: dict[Key, tuple[int, int]] = defaultdict(lambda: (0, 0), await rebuild_levels(session))
    stored = {
        (r.warehouse_id, r.sku_id): (r.on_hand, r.reserved)
        for r in (
            await session.execute(select(StockLevel).execution_options(populate_existing=True))
        ).scalars()
    }
    keys = set(stored) | set(rebuilt)
    return sorted(
        (
            (k, stored.get(k, (0, 0)), rebuilt[k])
            for k in keys
            if stored.get(k, (0, 0)) != rebuilt[k]
        ),
        key=lambda d: (str(d[0][0]), str(d[0][1])),
    )
