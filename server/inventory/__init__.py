"""Inventory: stock per warehouse and SKU, a movement ledger, reservations and allocation.

The order state machine calls these (never commits):

    reserve_for_dealer(session, reference, dealer_id, lines, allow_backorder=) -> Reservation
    reserve_stock(session, reference, lines) -> Reservation
    release_reservation(session, reference) -> Reservation
    ship_reserved(session, reference, lines=None) -> Reservation
    return_stock(session, reference, lines, reason=, unsellable=) -> Reservation
"""

from server.inventory.allocation import Allocation, allocate, dealer_warehouses, reserve_for_dealer
from server.inventory.availability import StockBand, dealer_stock_bands
from server.inventory.hq_stock import adjust_stock, receive_stock, set_stock
from server.inventory.ledger_audit import level_drift, rebuild_levels
from server.inventory.models import MovementKind
from server.inventory.reservations import (
    OrderLine,
    Reservation,
    ReservedLine,
    StockLine,
    get_reservation,
    release_reservation,
    reserve_stock,
    return_stock,
    ship_reserved,
)

__all__ = [
    "Allocation",
    "MovementKind",
    "OrderLine",
    "Reservation",
    "ReservedLine",
    "StockBand",
    "StockLine",
    "adjust_stock",
    "allocate",
    "dealer_stock_bands",
    "dealer_warehouses",
    "get_reservation",
    "level_drift",
    "rebuild_levels",
    "receive_stock",
    "release_reservation",
    "reserve_for_dealer",
    "reserve_stock",
    "return_stock",
    "set_stock",
    "ship_reserved",
]
