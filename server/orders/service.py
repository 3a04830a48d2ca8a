"""The orders service: what routes, sync mutations and other domains call, by idea.

Placement (``placement``), its gate and pricing (``gate``, ``pricing``), reading orders
(``queries``), the client's view of an order (``presenter``), the status trail
(``events``), the review threshold (``settings``), reorders (``reorder``) and the rebate an
order may spend (``rebate``) live in files
of their own; this module names them for callers.
"""

from __future__ import annotations

from server.orders.events import add_event
from server.orders.gate import ORDER_ID_LOCKS
from server.orders.placement import (
    DEFAULT_PRICE_GRACE_BP,
    Placement,
    content_hash,
    place_order,
    stock_reference,
)
from server.orders.presenter import order_out
from server.orders.queries import find_order, get_order, list_orders
from server.orders.rebate import ALL_SOURCES, PREPAID_ONLY
from server.orders.reorder import reorder
from server.orders.settings import (
    DEFAULT_APPROVAL_THRESHOLD,
    approval_threshold,
    set_approval_threshold,
)

__all__ = [
    "ALL_SOURCES",
    "DEFAULT_APPROVAL_THRESHOLD",
    "DEFAULT_PRICE_GRACE_BP",
    "ORDER_ID_LOCKS",
    "PREPAID_ONLY",
    "Placement",
    "add_event",
    "approval_threshold",
    "content_hash",
    "find_order",
    "get_order",
    "list_orders",
    "order_out",
    "place_order",
    "reorder",
    "set_approval_threshold",
    "stock_reference",
]
