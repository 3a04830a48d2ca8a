"""What changed in stock, collected in the writing transaction for the sync engine.

Every write that changes a (warehouse, SKU) figure calls :func:`publish_stock_change` in the
same transaction. For now the changes are only collected on the session; the integrator
wires this one function to ``sync.publish`` with scope ``stock:{warehouse}``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

_KEY = "inventory.stock_changes"
_LEVELS = "inventory.stock_levels"


def publish_stock_change(
    session: AsyncSession, warehouse_id: uuid.UUID, sku_ids: Iterable[uuid.UUID]
) -> None:
    """Record that these SKUs' stock (and so possibly their band) changed in this warehouse."""
    changes: dict[uuid.UUID, set[uuid.UUID]] = session.info.setdefault(_KEY, {})
    changes.setdefault(warehouse_id, set()).update(sku_ids)


def pending_stock_changes(session: AsyncSession) -> dict[uuid.UUID, set[uuid.UUID]]:
    """The (warehouse -> SKUs) changes published so far in this session's transaction."""
    return {w: set(s) for w, s in session.info.get(_KEY, {}).items()}


def note_stock_level(
    session: AsyncSession,
    warehouse_id: uuid.UUID,
    sku_id: uuid.UUID,
    *,
    before: int,
    after: int,
    safety: int,
) -> None:
    """Record a (warehouse, SKU) change with what was available before and after it.

    With these figures the publisher publishes the SKU's band only when the band changed
    over the whole transaction (first figure before, last figure after).
    """
    publish_stock_change(session, warehouse_id, [sku_id])
    levels: dict[tuple[uuid.UUID, uuid.UUID], list[int]] = session.info.setdefault(_LEVELS, {})
    known = levels.get((warehouse_id, sku_id))
    if known is None:
        levels[(warehouse_id, sku_id)] = [before, after, safety]
    else:
        known[1], known[2] = after, safety


def noted_stock_levels(
    session: AsyncSession,
) -> dict[tuple[uuid.UUID, uuid.UUID], tuple[int, int, int]]:
    """(available before, available after, safety stock) per key noted with figures."""
    levels: dict[tuple[uuid.UUID, uuid.UUID], list[int]] = session.info.get(_LEVELS, {})
    return {k: (v[0], v[1], v[2]) for k, v in levels.items()}
