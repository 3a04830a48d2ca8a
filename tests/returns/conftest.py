"""A shop with a shipped order, photos in storage, and helpers to request and decide returns."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.db.base import utcnow
from server.db.engine import Database
from server.db.scoping import scope_to_dealer
from server.db.session import transaction
from server.orders.models import OrderStatus
from server.orders.schemas import OrderCreate, OrderLineIn, ShipIn, ShipLineIn
from server.orders.service import place_order
from server.orders.transitions import ship, transition
from server.pricelists.loading import PricingCache
from server.settings import Settings
from server.storage.backends import ObjectStorage, create_storage
from tests.orders.conftest import HQ, Shop, make_shop

Client = AsyncTestClient[Litestar]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4 not an image"


def storage_of(settings: Settings) -> ObjectStorage:
    return create_storage(settings.storage, settings.public_base_url, settings.auth.jwt_secret)


async def upload_photo(settings: Settings, shop: Shop, data: bytes = PNG) -> str:
    """A photo put where its presigned form would have posted it; its id."""
    photo_id = uuid.uuid4()
    content_type = "image/png" if data is PNG else "application/pdf"
    await storage_of(settings).put(f"returns/{shop.dealer.id}/{photo_id}", data, content_type)
    return str(photo_id)


async def place_and_ship(
    db: Database,
    shop: Shop,
    lines: list[tuple[str, int]],
    shipped: list[tuple[str, int]] | None = None,
    **create: Any,
) -> uuid.UUID:
    """An order of ``lines`` placed by the shop, allocated, and shipped (all, or ``shipped``)."""
    order_id = uuid.uuid4()
    body = OrderCreate(id=order_id, lines=[OrderLineIn(sku=s, qty=q) for s, q in lines], **create)
    cache = PricingCache()
    try:
        async with transaction(db) as s:
            scope_to_dealer(s, shop.dealer.id)
            await place_order(s, cache, shop.actor, body, currency="CNY", now=utcnow())
    finally:
        await cache.aclose()
    async with transaction(db) as s:
        await transition(s, HQ, order_id, OrderStatus.ALLOCATED, utcnow())
    ship_lines = [ShipLineIn(sku=s, qty=q) for s, q in shipped or []]
    async with transaction(db) as s:
        await ship(
            s, HQ, order_id, ShipIn(carrier="SF", tracking_no="1", lines=ship_lines), utcnow()
        )
    return order_id


def return_body(order_id: uuid.UUID, lines: list[tuple[int, int]], **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "orderId": str(order_id),
        "lines": [{"line": n, "qty": q} for n, q in lines],
        "reason": "damaged",
        **extra,
    }


@dataclass
class Shipped:
    shop: Shop
    order_id: uuid.UUID


@pytest.fixture
async def shipped(db: Database, settings: Settings) -> Shipped:
    """10 W-550 (100 fen) and 2 TEA (399 fen) ordered, paid from prepaid, all shipped."""
    shop = await make_shop(db, settings)
    order_id = await place_and_ship(db, shop, [("W-550", 10), ("TEA", 2)])
    return Shipped(shop=shop, order_id=order_id)
