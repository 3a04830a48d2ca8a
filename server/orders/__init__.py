"""Orders: placed from a cart or an accepted quote, approved, allocated, shipped, received.

Near the top: only replication (and the composition root) import orders. Placement and the
presenter live in ``server.orders.service``, state changes in ``server.orders.transitions``,
offline mutations in ``server.orders.mutations``. Others use:

    dealer_order_activity(session, dealer_ids, since, until) -> {dealer: OrderActivity}
    pending_order_changes(session) / discard_order_changes(session)   (sync publication)
    invoice_bases(session, order_ids) / shipment_orders / dealer_shipments   (invoicing)
"""

from server.orders.activity import dealer_order_activity
from server.orders.invoicing import (
    OrderBasis,
    ShipmentBasis,
    dealer_shipments,
    invoice_bases,
    shipment_orders,
)
from server.orders.models import OrderStatus
from server.orders.publication import discard_order_changes, pending_order_changes

__all__ = [
    "OrderBasis",
    "OrderStatus",
    "ShipmentBasis",
    "dealer_order_activity",
    "dealer_shipments",
    "discard_order_changes",
    "invoice_bases",
    "pending_order_changes",
    "shipment_orders",
]
