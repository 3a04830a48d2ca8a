"""Order decisions in the approval trail (``server.trail``): HQ's approval and rejection and a
cancellation, each by a person, and the system's automatic approval (at placement, or when the
dealer confirms an amended order that needs no review; role ``system``, comment ``auto``).

The state a decision is about: the dealer, the order's ``content_hash`` (what the client
sent: lines, address, quote, backorder choice), its currency and amount, and the status the
decision gave it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.orders.models import Order, OrderStatus
from server.trail import Actor, note_decision

DECISIONS = frozenset({OrderStatus.APPROVED, OrderStatus.REJECTED, OrderStatus.CANCELLED})


def decision_state(order: Order) -> dict[str, Any]:
    return {
        "dealerId": str(order.dealer_id),
        "contentHash": order.content_hash,
        "currency": order.currency,
        "amount": order.amount,
        "status": str(order.status),
    }


def note_order_decision(
    session: AsyncSession, actor: Actor | None, order: Order, comment: str
) -> None:
    """Note the order's new status as a decision: a person's, or the system's approval."""
    by_system = actor is None and order.status is OrderStatus.APPROVED
    if order.status in DECISIONS and (actor is not None or by_system):
        state = decision_state(order)
        note_decision(session, actor, "order", order.id, str(order.status), state, comment)
