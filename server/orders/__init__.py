"""Orders: placed from a cart or an accepted quote, approved, allocated, shipped, received.

Near the top: only replication (and the composition root) import orders. Placement and the
presenter live in ``server.orders.service``, state changes in ``server.orders.transitions``,
offline mutations in ``server.orders.mutations``. Others use:

    dealer_order_activity(session, dealer_ids, since, until) -> {dealer: OrderActivity}
    pending_order_changes(session) / discard_order_changes(session)   (sync publication)
"""

from server.orders.activity import dealer_order_activity
from server.orders.models import OrderStatus
from server.orders.publication import discard_order_changes, pending_order_changes

__all__ = [
    "OrderStatus",
    "dealer_order_activity",
    "discard_order_changes",
    "pending_order_changes",
]
