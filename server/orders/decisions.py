"""Order decisions in the approval trail (``server.trail``): HQ's approval and rejection (and
each vote of an approval chain) and a cancellation, each by a person. The automatic approval of
an order no rule holds is not an entry of its own: the rule is (HQ's approval threshold, its
approval chains), and each order's event history and audit row show it was applied. An entry
per automatic approval would make every order of every dealer wait for the chain head's lock
at commit and move the head that every connected device follows, on every order.

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
    """Note the order's new status as a decision, when a person moved it to one."""
    if actor is not None and order.status in DECISIONS:
        state = decision_state(order)
        note_decision(session, actor, "order", order.id, str(order.status), state, comment)
