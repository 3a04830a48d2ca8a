"""The kinds of event a dealer or rep is told about, and the parameters each one carries.

A parameter's name is what HQ maps a template field to; its type decides how it is shown:
``amount`` parameters are integer fen, ``at`` parameters ISO-8601 times, the rest text.
"""

from __future__ import annotations

import enum


class EventKind(enum.StrEnum):
    """What happened. ``return_decided`` is reserved for returns (not sent yet)."""

    ORDER_APPROVED = "order_approved"
    ORDER_SHIPPED = "order_shipped"
    ORDER_REJECTED = "order_rejected"
    CLAIM_DECIDED = "claim_decided"
    RETURN_DECIDED = "return_decided"
    PRICE_LIST_CHANGED = "price_list_changed"
    CREDIT_LOW = "credit_low"
    ANNOUNCEMENT = "announcement"


_COMMON = ("at",)
PARAMS: dict[EventKind, tuple[str, ...]] = {
    EventKind.ORDER_APPROVED: ("orderNo", "amount", "status", *_COMMON),
    EventKind.ORDER_SHIPPED: ("orderNo", "amount", "status", "shipment", *_COMMON),
    EventKind.ORDER_REJECTED: ("orderNo", "amount", "status", "reason", *_COMMON),
    EventKind.CLAIM_DECIDED: ("claimNo", "promotion", "amount", "status", "reason", *_COMMON),
    EventKind.RETURN_DECIDED: ("returnNo", "amount", "status", "reason", *_COMMON),
    EventKind.PRICE_LIST_CHANGED: ("priceList", "tier", "status", *_COMMON),
    EventKind.CREDIT_LOW: ("available", "limit", "status", *_COMMON),
    EventKind.ANNOUNCEMENT: ("title", "summary", "status", *_COMMON),
}
"""The parameters each kind offers to a template's fields (``status`` is a short zh phrase)."""

AMOUNT_PARAMS = frozenset({"amount", "available", "limit"})
TIME_PARAMS = frozenset({"at"})
