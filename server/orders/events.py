"""An order's status trail: one ``OrderEvent`` per status change, numbered in order."""

from __future__ import annotations

import uuid
from datetime import datetime

from server.identity.principal import Principal
from server.orders.models import Order, OrderEvent, OrderStatus


def add_event(
    order: Order,
    actor: Principal | None,
    from_status: OrderStatus | None,
    to_status: OrderStatus,
    now: datetime,
    comment: str = "",
) -> None:
    """Append the status change to the order's trail (who, when, from what to what)."""
    order.events.append(
        OrderEvent(
            id=uuid.uuid4(),
            seq=len(order.events) + 1,
            from_status=str(from_status) if from_status else None,
            to_status=str(to_status),
            actor_id=actor.user_id if actor else None,
            actor_role=str(actor.role) if actor else None,
            comment=comment,
            at=now,
        )
    )
