"""Reorder: a new order with an old one's paid lines, priced today."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.identity.principal import Principal
from server.orders.placement import Placement, place_order
from server.orders.queries import get_order
from server.orders.schemas import OrderCreate, OrderLineIn, ReorderIn
from server.pricelists.loading import PricingCache


async def reorder(
    session: AsyncSession,
    cache: PricingCache,
    actor: Principal,
    old_id: uuid.UUID,
    body: ReorderIn,
    *,
    currency: str,
    now: datetime,
) -> Placement:
    """A new order with the old one's paid lines, priced today (gifts are re-derived)."""
    old = await get_order(session, old_id)
    lines = [OrderLineIn(sku=ln.sku_code, qty=ln.qty) for ln in old.lines if not ln.gift]
    return await place_order(
        session,
        cache,
        actor,
        OrderCreate(
            id=body.id,
            lines=lines,
            address_id=body.address_id if body.address_id else old.address_id,
            allow_backorder=body.allow_backorder,
        ),
        currency=currency,
        now=now,
    )
