"""An order as clients read it (``OrderOut``): lines, shipments and its status trail."""

from __future__ import annotations

import msgspec

from server.orders.models import Order
from server.orders.schemas import EventOut, OrderLineOut, OrderOut, ShipLineIn, ShipmentOut
from server.schemas import reason_text


def order_out(order: Order) -> OrderOut:
    """The order as clients read it."""
    return OrderOut(
        id=order.id,
        dealer_id=order.dealer_id,
        status=order.status,
        quote_id=order.quote_id,
        address_id=order.address_id,
        ship_region_code=order.ship_region_code,
        currency=order.currency,
        list_amount=order.list_amount,
        discount=order.discount,
        amount=order.amount,
        rebate=order.rebate,
        captured=order.captured,
        allow_backorder=order.allow_backorder,
        review_reasons=list(order.review_reasons or []),
        amendments=list(order.amendments or []),
        review_notes=[reason_text(c, f"order.{c}") for c in order.review_reasons or []],
        amendment_notes=[reason_text(c, f"order.{c}") for c in order.amendments or []],
        note=order.note,
        created_at=order.created_at,
        updated_at=order.updated_at,
        lines=[
            OrderLineOut(
                line=ln.line,
                sku=ln.sku_code,
                sku_name=ln.sku_name,
                qty=ln.qty,
                gift=ln.gift,
                unit_price=ln.unit_price,
                amount=ln.amount,
                reserved=ln.reserved,
                shipped=ln.shipped,
            )
            for ln in order.lines
        ],
        shipments=[
            ShipmentOut(
                id=s.id,
                carrier=s.carrier,
                tracking_no=s.tracking_no,
                lines=[msgspec.convert(x, ShipLineIn) for x in s.lines],
                captured=s.captured,
                shipped_at=s.shipped_at,
            )
            for s in order.shipments
        ],
        events=[
            EventOut(
                from_status=e.from_status,
                to_status=e.to_status,
                actor_role=e.actor_role,
                comment=e.comment,
                at=e.at,
            )
            for e in order.events
        ],
    )
