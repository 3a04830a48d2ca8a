"""Orders changed in a transaction, published to ``dealer:{id}`` just before it commits."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from server.orders.models import Order

_PENDING = "orders.pending"


def note_order_change(session: AsyncSession, order: Order) -> None:
    """Remember that ``order`` changed; it is published once, late, before the commit."""
    pending: dict[uuid.UUID, Order] = session.info.setdefault(_PENDING, {})
    pending[order.id] = order


def pending_order_changes(session: AsyncSession) -> list[Order]:
    """The orders noted in this transaction (and forget them)."""
    pending: dict[uuid.UUID, Order] = session.info.pop(_PENDING, {})
    return [pending[k] for k in sorted(pending, key=str)]


def discard_order_changes(session: AsyncSession) -> None:
    session.info.pop(_PENDING, None)
