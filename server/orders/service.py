"""Placing orders: from a cart or an accepted quote, priced, reserved, funded, in one fixed order.

A placement runs: replay check -> dealer status -> lines (cart priced now, or the quote's
pinned prices) -> ship-to check (窜货) -> claim the client's order id -> reserve stock ->
hold funds -> review rules. Always stock first, then funds, so two orders never take the
two locks in opposite orders. The client's order id is the primary key: a retry with the
same content answers the stored order; a concurrent twin waits on the key, then does the same.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import hold_funds
from server.audit.service import record
from server.catalog.service import sku_ids_by_code
from server.db.repository import get_or_404, keyset_page
from server.dealers.models import Dealer, DealerAddress, DealerStatus, DealerTier
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.identity.principal import Principal
from server.inventory import OrderLine as StockOrderLine
from server.inventory import reserve_for_dealer
from server.orders.models import Order, OrderEvent, OrderLine, OrderSettings, OrderStatus
from server.orders.publication import note_order_change
from server.orders.schemas import (
    EventOut,
    OrderCreate,
    OrderLineIn,
    OrderLineOut,
    OrderOut,
    ReorderIn,
    ShipLineIn,
    ShipmentOut,
    ThresholdOut,
)
from server.pricelists.cart import price_for_dealer
from server.pricelists.loading import PricingCache
from server.pricing import CartLine
from server.promotions import consume_order_budgets, promotion_uses, snapshot_promotion_uses
from server.quotes.service import convert_for_order
from server.regions.service import ancestry

DEFAULT_APPROVAL_THRESHOLD = 50_000_000  # fen: 500,000 yuan
DEFAULT_PRICE_GRACE_BP = 50  # 0.5 %
PREPAID_ONLY = ("prepaid",)
ALL_SOURCES = ("prepaid", "credit")


class Placement(msgspec.Struct, kw_only=True):
    """The order and whether this call created it (False: a replay of the same order)."""

    order: Order
    created: bool


def content_hash(body: OrderCreate) -> str:
    """What makes a retry the same order: lines, quote, address, backorder flag."""
    canonical = msgspec.json.encode(
        [
            [[ln.sku, ln.qty] for ln in body.lines],
            str(body.quote_id) if body.quote_id else None,
            str(body.address_id) if body.address_id else None,
            body.allow_backorder,
        ]
    )
    return hashlib.sha256(canonical).hexdigest()


def order_out(order: Order) -> OrderOut:
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
        captured=order.captured,
        allow_backorder=order.allow_backorder,
        review_reasons=list(order.review_reasons or []),
        amendments=list(order.amendments or []),
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


def add_event(
    order: Order,
    actor: Principal | None,
    from_status: OrderStatus | None,
    to_status: OrderStatus,
    now: datetime,
    comment: str = "",
) -> None:
    order.events.append(
        OrderEvent(
            id=uuid.uuid4(),
            seq=len(order.events) + 1,
            from_status=str(from_status) if from_status else None,
            to_status=str(to_status),
            actor_id=actor.user_id if actor else None,
            actor_role=str(actor.role) if actor else None,
            comment=comment,
            at=now,
        )
    )


async def find_order(session: AsyncSession, order_id: uuid.UUID) -> Order | None:
    stmt = select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_order(session: AsyncSession, order_id: uuid.UUID) -> Order:
    """One order (404 ``order_not_found``, also for another dealer's)."""
    return await get_or_404(session, Order, order_id, "order")


def _replay(existing: Order, digest: str) -> Placement:
    if existing.content_hash != digest:
        raise Conflict(
            "order_id_conflict",
            "该订单号已用于另一笔不同的订单",
            "This order id was already used for a different order",
            orderId=str(existing.id),
        )
    return Placement(order=existing, created=False)


async def approval_threshold(session: AsyncSession) -> int:
    row = await session.get(OrderSettings, 1)
    return DEFAULT_APPROVAL_THRESHOLD if row is None else row.approval_threshold


async def set_approval_threshold(
    session: AsyncSession, actor: Principal, value: int
) -> ThresholdOut:
    """HQ sets the payable above which orders wait for review (audited)."""
    row = await session.get(OrderSettings, 1)
    if row is None:
        session.add(OrderSettings(id=1, approval_threshold=value))
    else:
        row.approval_threshold = value
    await session.flush()
    record(session, actor, "order_threshold.set", "order_settings", 1, {"value": value})
    return ThresholdOut(approval_threshold=value)


async def _check_dealer(session: AsyncSession, dealer_id: uuid.UUID) -> tuple[Dealer, DealerTier]:
    dealer = await get_or_404(session, Dealer, dealer_id, "dealer")
    if dealer.status is not DealerStatus.ACTIVE:
        raise Forbidden(
            f"dealer_{dealer.status}",
            "经销商已暂停或关闭，不能下单",
            f"The dealer is {dealer.status}: ordering is refused",
        )
    tier = await get_or_404(session, DealerTier, dealer.tier_code, "tier")
    return dealer, tier


async def _is_diversion(session: AsyncSession, dealer: Dealer, region_code: str) -> bool:
    """A ship-to region not within any of the dealer's authorized regions is 窜货."""
    return not set(await ancestry(session, region_code)) & set(dealer.region_codes)


class _Priced(msgspec.Struct, kw_only=True):
    lines: list[OrderLine]
    list_amount: int
    discount: int
    amount: int
    fingerprint: str
    promotions: dict[str, int] = {}  # fen granted by each applied promotion, by code


async def _price_cart(
    session: AsyncSession,
    cache: PricingCache,
    dealer_id: uuid.UUID,
    lines: Sequence[OrderLineIn],
    *,
    currency: str,
    now: datetime,
) -> _Priced:
    if not lines:
        raise Invalid(
            "lines_empty",
            "订单至少需要一行商品",
            "An order needs at least one line",
            errors=[{"key": "lines", "message": "empty"}],
        )
    priced, rules = await price_for_dealer(
        session,
        cache,
        dealer_id,
        currency=currency,
        now=now,
        lines=[CartLine(sku=ln.sku, qty=ln.qty) for ln in lines],
    )
    ids = await sku_ids_by_code(session, (pl.sku for pl in priced.lines))
    out = [
        OrderLine(
            line=i,
            sku_id=ids[pl.sku],
            sku_code=pl.sku,
            sku_name=rules[pl.sku].name if pl.sku in rules else "",
            qty=pl.qty,
            gift=pl.gift,
            unit_price=pl.unit_price,
            amount=pl.amount,
        )
        for i, pl in enumerate(priced.lines)
    ]
    return _Priced(
        lines=out,
        list_amount=priced.totals.list_amount,
        discount=priced.totals.discount,
        amount=priced.totals.payable,
        fingerprint=priced.basis.fingerprint,
        promotions=promotion_uses(priced),
    )


async def _price_quote(
    session: AsyncSession, actor: Principal, quote_id: uuid.UUID, now: datetime
) -> _Priced:
    taken = await session.scalar(select(Order.id).where(Order.quote_id == quote_id))
    if taken is not None:
        raise Conflict(
            "quote_already_ordered",
            "该报价已下过订单",
            "An order was already placed from this quote",
            orderId=str(taken),
        )
    quote = await convert_for_order(session, actor, quote_id, now)
    ids = await sku_ids_by_code(session, (ln.sku_code for ln in quote.lines))
    out = [
        OrderLine(
            line=i,
            sku_id=ids[ln.sku_code],
            sku_code=ln.sku_code,
            sku_name=ln.sku_name,
            qty=ln.qty,
            gift=ln.gift,
            unit_price=ln.amount // ln.qty if ln.qty else 0,
            amount=ln.amount,
        )
        for i, ln in enumerate(quote.lines)
    ]
    return _Priced(
        lines=out,
        list_amount=quote.list_amount,
        discount=quote.list_amount - quote.amount,
        amount=quote.amount,
        fingerprint=quote.basis_fingerprint,
        promotions=snapshot_promotion_uses(quote.snapshot),
    )


def _spread_reserved(lines: list[OrderLine], reserved_by_sku: dict[uuid.UUID, int]) -> None:
    left = dict(reserved_by_sku)
    for ln in lines:
        take = min(ln.qty, left.get(ln.sku_id, 0))
        ln.reserved = take
        left[ln.sku_id] = left.get(ln.sku_id, 0) - take


def stock_reference(order_id: uuid.UUID) -> str:
    """The reference of an order's reservation and funds hold."""
    return str(order_id)


async def place_order(
    session: AsyncSession,
    cache: PricingCache,
    actor: Principal,
    body: OrderCreate,
    *,
    currency: str,
    now: datetime,
    price_grace_bp: int = DEFAULT_PRICE_GRACE_BP,
) -> Placement:
    """Create the order (or answer the stored one for a retry); see the module docstring."""
    dealer_id = actor.dealer_id
    if dealer_id is None:
        raise Forbidden("dealer_required", "仅经销商可以下单", "Only dealers place orders")
    digest = content_hash(body)
    existing = await find_order(session, body.id)
    if existing is not None:
        return _replay(existing, digest)
    if (body.quote_id is None) == (not body.lines):
        raise Invalid(
            "order_source_invalid",
            "订单须来自购物车或报价之一",
            "Give either lines or a quote id, not both or neither",
        )
    dealer, tier = await _check_dealer(session, dealer_id)
    if body.quote_id is not None:
        priced = await _price_quote(session, actor, body.quote_id, now)
    else:
        priced = await _price_cart(
            session, cache, dealer_id, body.lines, currency=currency, now=now
        )
    reasons: list[str] = []
    region_code: str | None = None
    if body.address_id is not None:
        address = await session.get(DealerAddress, body.address_id)
        if address is None or address.dealer_id != dealer_id:
            raise NotFound("address_not_found", "收货地址不存在", "address not found")
        region_code = address.region_code
        if await _is_diversion(session, dealer, region_code):
            reasons.append("diversion")
    order = Order(
        id=body.id,
        dealer_id=dealer_id,
        status=OrderStatus.SUBMITTED,
        content_hash=digest,
        quote_id=body.quote_id,
        address_id=body.address_id,
        ship_region_code=region_code,
        currency=currency,
        list_amount=priced.list_amount,
        discount=priced.discount,
        amount=priced.amount,
        allow_backorder=body.allow_backorder,
        basis_fingerprint=priced.fingerprint,
        note=body.note,
        created_by=actor.user_id,
        lines=[],
        events=[],
        shipments=[],
    )
    try:
        async with session.begin_nested():
            session.add(order)
            # Claim the client's id first: a concurrent twin waits on the key, then replays.
            await session.flush()
    except IntegrityError as exc:
        twin = await find_order(session, body.id)
        if twin is not None:
            return _replay(twin, digest)
        raise Conflict(
            "order_id_conflict", "该订单号已被使用", "This order id is already in use"
        ) from exc
    wanted: dict[uuid.UUID, int] = {}
    for ln in priced.lines:
        wanted[ln.sku_id] = wanted.get(ln.sku_id, 0) + ln.qty
    reservation = await reserve_for_dealer(
        session,
        stock_reference(order.id),
        dealer_id,
        [StockOrderLine(sku_id=s, quantity=q) for s, q in wanted.items()],
        allow_backorder=body.allow_backorder,
    )
    reserved: dict[uuid.UUID, int] = {}
    for rl in reservation.lines:
        reserved[rl.sku_id] = reserved.get(rl.sku_id, 0) + rl.quantity
    # Lines are written with the reserved quantities known: one insert, no update after it.
    _spread_reserved(priced.lines, reserved)
    order.lines = priced.lines
    if order.amount > 0:
        await hold_funds(
            session,
            dealer_id,
            stock_reference(order.id),
            order.amount,
            PREPAID_ONLY if tier.requires_prepayment else ALL_SOURCES,
        )
    await consume_order_budgets(session, cache.budgets, dealer_id, order.id, priced.promotions)
    amendments: list[str] = []
    if reservation.backordered:
        amendments.append("stock_partial")
    if body.expected_amount is not None and order.amount * 10_000 > body.expected_amount * (
        10_000 + price_grace_bp
    ):
        amendments.append("price_rose")
    if tier.requires_prepayment:
        reasons.append("watch_tier")
    if order.amount > await approval_threshold(session):
        reasons.append("amount_above_threshold")
    order.review_reasons = reasons
    order.amendments = amendments
    add_event(order, actor, None, OrderStatus.SUBMITTED, now)
    if amendments:
        order.status = OrderStatus.PENDING_CONFIRMATION
        add_event(order, actor, OrderStatus.SUBMITTED, OrderStatus.PENDING_CONFIRMATION, now)
    elif not reasons:
        order.status = OrderStatus.APPROVED
        add_event(order, None, OrderStatus.SUBMITTED, OrderStatus.APPROVED, now, "auto")
    record(
        session,
        actor,
        "order.placed",
        "order",
        order.id,
        {
            "amount": order.amount,
            "status": str(order.status),
            "review_reasons": reasons,
            "amendments": amendments,
        },
    )
    note_order_change(session, order)
    await session.flush()
    return Placement(order=order, created=True)


async def list_orders(
    session: AsyncSession,
    *,
    status: OrderStatus | None = None,
    dealer_id: uuid.UUID | None = None,
    review: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[Sequence[Order], str | None]:
    """A page of orders (dealer scoping applies), filtered by status or dealer."""
    stmt = select(Order)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if dealer_id is not None:
        stmt = stmt.where(Order.dealer_id == dealer_id)
    if review:
        stmt = stmt.where(Order.status == OrderStatus.SUBMITTED)
    return await keyset_page(session, stmt, Order.id, cursor, limit)


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
