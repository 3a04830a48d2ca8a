"""Property test: random order life cycles keep stock, funds and orders consistent.

Every step is one transaction through the services (place, approve, allocate, ship, receive,
complete, cancel, reject, replay, top up prepaid or rebate, and return shipped goods:
request, decide, receive with a refund). Orders spend rebate (the tier's cap is 20 %).
After each: reserved stock equals the open reservations, every ledger balances (each
account's balance is the sum of its postings), the dealer's statement reconciles (opening +
credits - debits = closing = balance), each order's open lines match its reservation, no
order exists twice, returns never exceed what shipped per line, and refunds never exceed
what each source paid. Refusals must be the documented business errors and change nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import dealer_balances, ledger_faults
from server.accounts.funds import top_up
from server.accounts.models import AccountKind, FundsHold, LedgerAccount
from server.accounts.schemas import TopUpIn
from server.accounts.statements import dealer_statement
from server.db.base import utcnow
from server.db.engine import Database
from server.db.scoping import scope_to_dealer
from server.db.session import transaction
from server.dealers.models import DealerTier
from server.errors import ChannelhubError
from server.identity.models import Role
from server.identity.principal import Principal
from server.inventory import level_drift, receive_stock
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
from server.returns import Disposition, create_return, decide_return, receive_return
from server.returns.models import ReturnLine, ReturnRequest, ReturnStatus
from server.returns.schemas import ReturnCreate, ReturnLineIn
from server.settings import Settings
from server.storage import ObjectStorage
from server.storage.backends import create_storage
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
    "return_not_shipped",
    "return_exceeds_shipped",
    "return_window_passed",
    "return_not_receivable",
    "rebate_insufficient",
}
order_ops = st.lists(
    st.one_of(
        st.tuples(st.just("place"), st.integers(-2, 40), st.integers(0, 30), st.booleans()),
        st.tuples(st.sampled_from(sorted(MOVES)), st.integers(0, 9), st.just(0), st.just(False)),
        st.tuples(st.just("ship"), st.integers(0, 9), st.integers(0, 12), st.just(False)),
        st.tuples(st.just("replay"), st.integers(0, 9), st.just(0), st.just(False)),
        st.tuples(st.just("top_up"), st.integers(1, 20_000), st.just(0), st.booleans()),
        # Return ``b`` units of line ``b % 2`` of an order; the flag: rejected, not received.
        st.tuples(st.just("deliver"), st.integers(0, 9), st.just(0), st.just(False)),
        st.tuples(st.just("return"), st.integers(0, 9), st.integers(1, 4), st.booleans()),
        st.tuples(st.just("take_back"), st.integers(0, 9), st.integers(0, 2), st.just(False)),
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


async def _check_money(db: Database, dealer_id: uuid.UUID) -> None:
    """Balances are their postings, the statement reconciles, refunds and returns within bounds."""
    async with db.session(write=False) as s:
        accounts = (
            await s.scalars(select(LedgerAccount).where(LedgerAccount.dealer_id == dealer_id))
        ).all()
        balances = {a.kind: a.balance for a in accounts}
        today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
        statement = await dealer_statement(s, dealer_id, today, today)
        for section in statement.accounts:
            assert section.opening + section.credits - section.debits == section.closing
            assert section.closing == balances.get(AccountKind(section.account), 0)
        assert (await dealer_balances(s, dealer_id)).rebate >= 0
        for hold in (await s.scalars(select(FundsHold))).all():
            assert 0 <= hold.refunded_prepaid <= hold.captured_prepaid
            assert 0 <= hold.refunded_credit <= hold.captured_credit
            assert 0 <= hold.refunded_rebate <= hold.captured_rebate
        for order in (await s.scalars(select(Order))).all():
            live = (
                select(ReturnLine.order_line, func.sum(ReturnLine.qty))
                .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
                .where(
                    ReturnLine.order_id == order.id,
                    ReturnRequest.status != ReturnStatus.REJECTED,
                )
                .group_by(ReturnLine.order_line)
            )
            returned = {int(n): int(q) for n, q in await s.execute(live)}
            for ln in order.lines:
                assert returned.get(ln.line, 0) <= ln.shipped
            refunded = await s.scalar(
                select(func.coalesce(func.sum(ReturnRequest.refund), 0)).where(
                    ReturnRequest.order_id == order.id
                )
            )
            assert int(refunded or 0) <= order.captured


async def _top_up(
    s: AsyncSession, hq: Principal, dealer_id: uuid.UUID, amount: int, rebate: bool
) -> None:
    body = TopUpIn(
        account="rebate" if rebate else "prepaid",
        amount=amount,
        reason="r",
        idempotency_key=f"k-{uuid.uuid4()}",
    )
    await top_up(s, hq, dealer_id, body)


async def _return(
    s: AsyncSession,
    storage: ObjectStorage,
    actors: tuple[Principal, Principal],
    order_id: uuid.UUID,
    qty: int,
    reject: bool,
) -> uuid.UUID:
    """Request ``qty`` units of line ``qty % 2`` back and have HQ decide it; the return's id."""
    dealer, hq = actors
    body = ReturnCreate(
        id=uuid.uuid4(),
        order_id=order_id,
        lines=[ReturnLineIn(line=qty % 2, qty=qty)],
        reason="damaged",  # type: ignore[arg-type]
    )
    await create_return(s, storage, dealer, body, utcnow())
    await decide_return(s, hq, body.id, approve=not reject, comment="因为", now=utcnow())
    return body.id


async def _delivered(
    db: Database, cache: PricingCache, actors: tuple[Principal, Principal], dealer_id: uuid.UUID
) -> OrderCreate:
    """An order of 4 W-550 and 2 TEA, placed, allocated and shipped (stock received for it)."""
    dealer, hq = actors
    async with transaction(db) as s:
        for level in (await s.scalars(select(StockLevel))).all():
            await receive_stock(s, level.warehouse_id, level.sku_id, 4, reason="入库")
    body = OrderCreate(
        id=uuid.uuid4(), lines=[OrderLineIn(sku="W-550", qty=4), OrderLineIn(sku="TEA", qty=2)]
    )
    async with transaction(db) as s:
        scope_to_dealer(s, dealer_id)
        await place_order(s, cache, dealer, body, currency="CNY", now=utcnow())
    async with transaction(db) as s:
        await transition(s, hq, body.id, OrderStatus.ALLOCATED, utcnow())
        await ship(s, hq, body.id, ShipIn(carrier="SF", tracking_no="0"), utcnow())
    return body


async def _allow_rebate(db: Database) -> None:
    """Orders of the core tier may spend rebate up to 20 % of their goods."""
    async with transaction(db) as s:
        tier = await s.get(DealerTier, "core")
        assert tier is not None
        tier.rebate_cap_bp = 2_000


@PROPERTY_SETTINGS
@given(ops=order_ops)
async def test_random_order_lifecycles_keep_invariants(
    db: Database, settings: Settings, ops: list[tuple[str, int, int, bool]]
) -> None:
    async with db.session(write=False) as s:
        fresh = await s.scalar(select(func.count()).select_from(StockLevel)) == 0
    shop = await make_shop(db, settings, stock=60, prepaid=40_000, with_world=fresh)
    await _allow_rebate(db)
    dealer = Principal(user_id=shop.user.id, role=Role.DEALER_ADMIN, dealer_id=shop.dealer.id)
    hq = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
    storage = create_storage(settings.storage, settings.public_base_url, "x" * 40)
    returns: list[uuid.UUID] = []
    cache = PricingCache()
    async with db.session(write=False) as s:
        placed = int(await s.scalar(select(func.count()).select_from(Order)) or 0)
    # A delivered order first, so that returns have shipped goods from the first step.
    bodies = [await _delivered(db, cache, (dealer, hq), shop.dealer.id)]
    placed += 1
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
                    elif op == "top_up":
                        await _top_up(s, hq, shop.dealer.id, a, flag)
                    elif not bodies:
                        continue
                    elif op == "deliver":  # allocate and ship everything, one step
                        order_id = bodies[a % len(bodies)].id
                        await transition(s, hq, order_id, OrderStatus.ALLOCATED, utcnow())
                        await ship(s, hq, order_id, ShipIn(carrier="SF", tracking_no="2"), utcnow())
                    elif op == "return":
                        order_id = bodies[a % len(bodies)].id
                        returns.append(await _return(s, storage, (dealer, hq), order_id, b, flag))
                    elif op == "take_back":
                        if returns:
                            disposition = list(Disposition)[b % 3]
                            return_id = returns[a % len(returns)]
                            await receive_return(s, hq, return_id, disposition, utcnow())
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
            await _check_money(db, shop.dealer.id)
    finally:
        await cache.aclose()
