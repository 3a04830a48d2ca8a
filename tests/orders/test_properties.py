"""Property test: random order life cycles keep stock, funds and orders consistent.

Every step is one transaction through the services (place, approve, allocate, ship, receive,
complete, cancel, reject, replay). After each: reserved stock equals the open reservations,
every ledger balances, each order's open lines match its reservation, and no order exists
twice. Refusals must be the documented business errors and change nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from server.accounts import ledger_faults
from server.db.base import utcnow
from server.db.engine import Database
from server.db.scoping import scope_to_dealer
from server.db.session import transaction
from server.errors import ChannelhubError
from server.identity.models import Role
from server.identity.principal import Principal
from server.inventory import level_drift
from server.inventory.models import (
    ReservationStatus,
    StockLevel,
    StockReservation,
    StockReservationLine,
)
from server.orders.models import Order, OrderStatus
from server.orders.schemas import OrderCreate, OrderLineIn, ShipIn, ShipLineIn
from server.orders.service import place_order, stock_reference
from server.orders.transitions import ship, transition
from server.pricelists.loading import PricingCache
from server.settings import Settings
from tests.orders.conftest import make_shop

PROPERTY_SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
MOVES = {
    "approve": OrderStatus.APPROVED,
    "allocate": OrderStatus.ALLOCATED,
    "receive": OrderStatus.RECEIVED,
    "complete": OrderStatus.COMPLETED,
    "cancel": OrderStatus.CANCELLED,
    "reject": OrderStatus.REJECTED,
    "confirm": OrderStatus.SUBMITTED,
}
EXPECTED_REFUSALS = {
    "order_transition_invalid",
    "stock_insufficient",
    "funds_insufficient",
    "nothing_to_ship",
    "ship_exceeds_order",
    "quantity_invalid",
    "cart_invalid",
}
order_ops = st.lists(
    st.one_of(
        st.tuples(st.just("place"), st.integers(-2, 40), st.integers(0, 30), st.booleans()),
        st.tuples(st.sampled_from(sorted(MOVES)), st.integers(0, 9), st.just(0), st.just(False)),
        st.tuples(st.just("ship"), st.integers(0, 9), st.integers(0, 12), st.just(False)),
        st.tuples(st.just("replay"), st.integers(0, 9), st.just(0), st.just(False)),
    ),
    min_size=1,
    max_size=25,
)


async def _check(db: Database, placed: int) -> None:
    async with db.session(write=False) as s:
        levels = (await s.execute(select(StockLevel))).scalars().all()
        open_lines = await s.execute(
            select(StockReservationLine)
            .join(StockReservation)
            .where(StockReservation.status == ReservationStatus.OPEN)
        )
        open_by_key: dict[tuple[uuid.UUID, uuid.UUID], int] = defaultdict(int)
        for line in open_lines.scalars():
            open_by_key[(line.warehouse_id, line.sku_id)] += line.open_quantity
        for level in levels:
            assert level.reserved == open_by_key[(level.warehouse_id, level.sku_id)]
        assert await level_drift(s) == []
        assert await ledger_faults(s) == []
        assert await s.scalar(select(func.count()).select_from(Order)) == placed
        for order in (await s.execute(select(Order))).scalars():
            reservation = await s.scalar(
                select(StockReservation).where(
                    StockReservation.reference == stock_reference(order.id)
                )
            )
            assert reservation is not None
            rows = (
                await s.execute(
                    select(StockReservationLine).where(
                        StockReservationLine.reservation_id == reservation.id
                    )
                )
            ).scalars()
            open_qty = sum(r.open_quantity for r in rows)
            assert open_qty == sum(ln.reserved - ln.shipped for ln in order.lines)
            if order.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
                assert open_qty == 0
            assert 0 <= order.captured <= order.amount


@PROPERTY_SETTINGS
@given(ops=order_ops)
async def test_random_order_lifecycles_keep_invariants(
    db: Database, settings: Settings, ops: list[tuple[str, int, int, bool]]
) -> None:
    async with db.session(write=False) as s:
        fresh = await s.scalar(select(func.count()).select_from(StockLevel)) == 0
    shop = await make_shop(db, settings, stock=60, prepaid=40_000, with_world=fresh)
    dealer = Principal(user_id=shop.user.id, role=Role.DEALER_ADMIN, dealer_id=shop.dealer.id)
    hq = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
    cache = PricingCache()
    async with db.session(write=False) as s:
        placed = int(await s.scalar(select(func.count()).select_from(Order)) or 0)
    bodies: list[OrderCreate] = []
    try:
        for op, a, b, flag in ops:
            try:
                async with transaction(db) as s:
                    if op in ("place", "replay"):
                        scope_to_dealer(s, shop.dealer.id)
                    if op == "place":
                        lines = [OrderLineIn(sku="W-550", qty=a)]
                        if b:
                            lines.append(OrderLineIn(sku="TEA", qty=b))
                        body = OrderCreate(id=uuid.uuid4(), lines=lines, allow_backorder=flag)
                        result = await place_order(
                            s, cache, dealer, body, currency="CNY", now=utcnow()
                        )
                        assert result.created
                        bodies.append(body)
                        placed += 1
                    elif not bodies:
                        continue
                    elif op == "replay":
                        body = bodies[a % len(bodies)]
                        result = await place_order(
                            s, cache, dealer, body, currency="CNY", now=utcnow()
                        )
                        assert not result.created and result.order.id == body.id
                    elif op == "ship":
                        order_id = bodies[a % len(bodies)].id
                        lines = [ShipLineIn(sku="W-550", qty=b)] if b else []
                        await ship(
                            s,
                            hq,
                            order_id,
                            ShipIn(carrier="SF", tracking_no="1", lines=lines),
                            utcnow(),
                        )
                    else:
                        actor = dealer if op in ("cancel", "receive", "confirm") else hq
                        await transition(
                            s, actor, bodies[a % len(bodies)].id, MOVES[op], utcnow(), "因为"
                        )
            except ChannelhubError as exc:
                assert exc.code in EXPECTED_REFUSALS, exc.code
            await _check(db, placed)
    finally:
        await cache.aclose()
