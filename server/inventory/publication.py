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


def publish_stock_change(
    session: AsyncSession, warehouse_id: uuid.UUID, sku_ids: Iterable[uuid.UUID]
) -> None:
    """Record that these SKUs' stock (and so possibly their band) changed in this warehouse."""
    changes: dict[uuid.UUID, set[uuid.UUID]] = session.info.setdefault(_KEY, {})
    changes.setdefault(warehouse_id, set()).update(sku_ids)


def pending_stock_changes(session: AsyncSession) -> dict[uuid.UUID, set[uuid.UUID]]:
    """The (warehouse -> SKUs) changes published so far in this session's transaction."""
    return {w: set(s) for w, s in session.info.get(_KEY, {}).items()}
