"""Placing orders: from a cart or an accepted quote, priced, reserved, funded, in one fixed order.

A placement runs: replay check -> dealer status -> lines (cart priced now, or the quote's
pinned prices) -> ship-to check (窜货) -> claim the client's order id -> reserve stock ->
hold funds -> consume promotion budgets -> review rules. Always stock first, then funds,
so two orders never take the two locks in opposite orders. The client's order id is the
primary key: a retry with the same content answers the stored order; a concurrent twin
waits on the key, then does the same.

A promotion whose budget ran out (for everyone, or for this dealer) does not block a cart
order: the savepoint is undone, the cart priced again without that promotion and placed,
with the amendment ``promotion_ended`` for the dealer to confirm. Each retry leaves out one
more promotion that the previous pricing applied, so there are at most as many retries as
promotions applied.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Integer, Uuid, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import hold_funds
from server.audit.service import record
from server.catalog.models import CatalogRevision
from server.catalog.service import sku_ids_by_code
from server.db import fast
from server.db.bulk import flush_in_one
from server.db.dialect import is_postgresql
from server.db.repository import get_or_404, keyset_page
from server.db.session import restore_notes, snapshot_notes
from server.dealers.models import Dealer, DealerAddress, DealerRegion, DealerStatus, DealerTier
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.identity.principal import Principal
from server.inventory import OrderLine as StockOrderLine
from server.inventory import Reservation, reserve_for_dealer
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
from server.promotions import (
    BudgetExhausted,
    consume_order_budgets,
    promotion_uses,
    snapshot_promotion_uses,
)
from server.quotes.service import convert_for_order
from server.regions.service import ancestry
from server.schemas import reason_text

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


class _Gate(msgspec.Struct, frozen=True, kw_only=True):
    """What placement needs to know first, read in one statement."""

    order_exists: bool
    """The client's order id is taken already (a retry, or another dealer's id)."""
    status: DealerStatus
    tier_known: bool
    requires_prepayment: bool
    region_codes: tuple[str, ...]
    approval_threshold: int
    revision: int
    """The catalog revision, read with the rest: pricing needs no statement of its own."""


ORDER_ID_LOCKS = 0x4F52  # advisory lock namespace of client order ids ("OR")


def _gate_statement(*, postgresql: bool) -> Any:
    """The gate's one statement. On PostgreSQL it first claims the order id
    (``claim_order_id``, migration 0009): twins of one id queue on its advisory lock, and the
    one that waited sees the order the other committed. SQLite writers queue on their own.
    """
    regions = (
        select(func.aggregate_strings(DealerRegion.region_code, ","))
        .where(DealerRegion.dealer_id == Dealer.id)
        .scalar_subquery()
    )
    threshold = (
        select(OrderSettings.approval_threshold).where(OrderSettings.id == 1).scalar_subquery()
    )
    revision = select(CatalogRevision.value).where(CatalogRevision.id == 1).scalar_subquery()
    taken: Any = select(Order.id).where(Order.id == bindparam("order")).exists()
    first: tuple[Any, ...] = ()
    if postgresql:
        key = bindparam("key", type_=Integer)
        taken = func.claim_order_id(ORDER_ID_LOCKS, key, bindparam("order", type_=Uuid))
        first = (fast.GENERIC_PLANS,)
    return (
        select(
            *first,
            Dealer.status,
            DealerTier.code,
            DealerTier.requires_prepayment,
            regions,
            threshold,
            revision,
            taken,
        )
        .outerjoin(DealerTier, DealerTier.code == Dealer.tier_code)
        .where(Dealer.id == bindparam("dealer"))
    )


# Built once: they run on every order.
_GATE = _gate_statement(postgresql=False)
_GATE_PG = _gate_statement(postgresql=True)


async def _read_gate(session: AsyncSession, dealer_id: uuid.UUID, order_id: uuid.UUID) -> _Gate:
    """Whether the order id is taken, the dealer's standing, regions, threshold, revision."""
    if is_postgresql(session):
        params = {"dealer": dealer_id, "order": order_id, "key": fast.lock_key(order_id)}
        found = [row[1:] for row in await fast.rows(session, _GATE_PG, params)]
    else:
        found = await fast.rows(session, _GATE, {"dealer": dealer_id, "order": order_id})
    if not found:
        raise NotFound("dealer_not_found")
    status, tier_code, requires_prepayment, region_csv, threshold, revision, taken = found[0]
    return _Gate(
        order_exists=bool(taken),
        status=DealerStatus(status),
        tier_known=tier_code is not None,
        requires_prepayment=bool(requires_prepayment),
        region_codes=tuple(sorted(region_csv.split(","))) if region_csv else (),
        approval_threshold=DEFAULT_APPROVAL_THRESHOLD if threshold is None else threshold,
        revision=int(revision or 0),
    )


def _check_dealer(gate: _Gate) -> None:
    """The dealer may order: active, with a known tier."""
    if gate.status is not DealerStatus.ACTIVE:
        raise Forbidden(
            f"dealer_{gate.status}",
            "经销商已暂停或关闭，不能下单",
            f"The dealer is {gate.status}: ordering is refused",
        )
    if not gate.tier_known:
        raise NotFound("tier_not_found")


async def _is_diversion(
    session: AsyncSession, region_codes: Sequence[str], region_code: str
) -> bool:
    """A ship-to region not within any of the dealer's authorized regions is 窜货."""
    return not set(await ancestry(session, region_code)) & set(region_codes)


class _Priced(msgspec.Struct, kw_only=True):
    lines: list[OrderLine]
    list_amount: int
    discount: int
    amount: int
    fingerprint: str
    promotions: dict[str, int] = {}  # fen granted by each applied promotion, by code
    ended: tuple[str, ...] = ()  # promotions priced out: their budget ran out at placement


async def _price_cart(
    session: AsyncSession,
    cache: PricingCache,
    dealer_id: uuid.UUID,
    lines: Sequence[OrderLineIn],
    *,
    currency: str,
    now: datetime,
    ended: tuple[str, ...] = (),
    revision: int | None = None,
) -> _Priced:
    """The cart priced for the dealer now, without the ``ended`` promotions."""
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
        exclude_promotions=frozenset(ended),
        revision=revision,
    )
    ids = {code: rule.id for code, rule in rules.items() if rule.id is not None}
    unknown = {pl.sku for pl in priced.lines} - ids.keys()  # e.g. a gift of another SKU
    if unknown:
        ids.update(await sku_ids_by_code(session, unknown))
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
        ended=ended,
    )


async def _price_quote(
    session: AsyncSession, actor: Principal, quote_id: uuid.UUID, now: datetime
) -> _Priced:
    """The accepted quote's pinned lines and prices.

    A quote is a price both sides agreed on, possibly approved at that price: an order from
    it is never re-priced, so a quoted promotion whose budget ran out refuses the order (409
    ``budget_exhausted``) instead of placing it without the promotion.
    """
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
    # Concurrent twins of one order id queue at the gate: the one that goes second reads the
    # order the first committed (a replay), so neither writes anything twice.
    gate = await _read_gate(session, dealer_id, body.id)
    if gate.order_exists:
        existing = await find_order(session, body.id)
        if existing is None:  # the id is another dealer's order
            raise Conflict(
                "order_id_conflict", "该订单号已被使用", "This order id is already in use"
            )
        return _replay(existing, digest)
    if (body.quote_id is None) == (not body.lines):
        raise Invalid(
            "order_source_invalid",
            "订单须来自购物车或报价之一",
            "Give either lines or a quote id, not both or neither",
        )
    _check_dealer(gate)
    if body.quote_id is not None:
        priced = await _price_quote(session, actor, body.quote_id, now)
    else:
        priced = await _price_cart(
            session,
            cache,
            dealer_id,
            body.lines,
            currency=currency,
            now=now,
            revision=gate.revision,
        )
    reasons: list[str] = []
    region_code: str | None = None
    if body.address_id is not None:
        address = await session.get(DealerAddress, body.address_id)
        if address is None or address.dealer_id != dealer_id:
            raise NotFound("address_not_found", "收货地址不存在", "address not found")
        region_code = address.region_code
        if await _is_diversion(session, gate.region_codes, region_code):
            reasons.append("diversion")
    notes = snapshot_notes(session)
    while True:
        # A budgeted promotion can run out at placement: then stock, funds and budgets are
        # taken in a savepoint, undone if it does, and the cart priced again without it.
        budgeted = bool(cache.budgets.to_check(priced.promotions))
        savepoint = await session.begin_nested() if budgeted else None
        try:
            # Nothing is flushed before the end: the rows of the reservation, the hold, the
            # ledger, the order and its audit go in one statement.
            with session.no_autoflush:
                reservation = await _reserve_and_hold(session, cache, dealer_id, body, priced, gate)
                order = _new_order(
                    actor,
                    body,
                    digest,
                    priced,
                    reservation,
                    gate,
                    reasons,
                    region_code=region_code,
                    currency=currency,
                    now=now,
                    price_grace_bp=price_grace_bp,
                )
                session.add(order)
                _record_placed(session, actor, order, priced)
                await flush_in_one(session)
            if savepoint is not None:
                await savepoint.commit()
            break
        except BudgetExhausted as exc:
            # The savepoint undoes the reservation, the hold and every budget taken: price
            # the cart again without the promotion and place that (the dealer confirms).
            assert savepoint is not None
            await savepoint.rollback()
            restore_notes(session, notes)
            code = exc.extra.get("promotion")
            if body.quote_id is not None or code not in priced.promotions:
                raise
            priced = await _price_cart(
                session,
                cache,
                dealer_id,
                body.lines,
                currency=currency,
                now=now,
                ended=(*priced.ended, code),
            )
        except IntegrityError as exc:
            # Not a twin (those wait at the gate's claim): the id is taken by a row this
            # dealer cannot see. The transaction is spoiled; the request rolls back.
            restore_notes(session, notes)
            raise Conflict(
                "order_id_conflict", "该订单号已被使用", "This order id is already in use"
            ) from exc
    note_order_change(session, order)
    return Placement(order=order, created=True)


def _record_placed(session: AsyncSession, actor: Principal, order: Order, priced: _Priced) -> None:
    record(
        session,
        actor,
        "order.placed",
        "order",
        order.id,
        {
            "amount": order.amount,
            "status": str(order.status),
            "review_reasons": order.review_reasons,
            "amendments": order.amendments,
            "ended_promotions": sorted(priced.ended),  # priced out: their budget ran out
        },
    )


async def _reserve_and_hold(
    session: AsyncSession,
    cache: PricingCache,
    dealer_id: uuid.UUID,
    body: OrderCreate,
    priced: _Priced,
    gate: _Gate,
) -> Reservation:
    """Reserve the priced lines' stock, hold the payable, take the promotions' budgets."""
    reference = stock_reference(body.id)
    wanted: dict[uuid.UUID, int] = {}
    for ln in priced.lines:
        wanted[ln.sku_id] = wanted.get(ln.sku_id, 0) + ln.qty
    reservation = await reserve_for_dealer(
        session,
        reference,
        dealer_id,
        [StockOrderLine(sku_id=s, quantity=q) for s, q in wanted.items()],
        allow_backorder=body.allow_backorder,
        region_codes=gate.region_codes,
        new_reference=True,
    )
    if priced.amount > 0:
        await hold_funds(
            session,
            dealer_id,
            reference,
            priced.amount,
            PREPAID_ONLY if gate.requires_prepayment else ALL_SOURCES,
            dealer_checked=True,
            new_reference=True,
        )
    await consume_order_budgets(session, cache.budgets, dealer_id, body.id, priced.promotions)
    return reservation


def _new_order(
    actor: Principal,
    body: OrderCreate,
    digest: str,
    priced: _Priced,
    reservation: Reservation,
    gate: _Gate,
    reasons: list[str],
    *,
    region_code: str | None,
    currency: str,
    now: datetime,
    price_grace_bp: int,
) -> Order:
    """The order as placed: lines with what was reserved, review reasons, status and trail."""
    reserved: dict[uuid.UUID, int] = {}
    for rl in reservation.lines:
        reserved[rl.sku_id] = reserved.get(rl.sku_id, 0) + rl.quantity
    _spread_reserved(priced.lines, reserved)
    amendments: list[str] = []
    if reservation.backordered:
        amendments.append("stock_partial")
    if body.expected_amount is not None and priced.amount * 10_000 > body.expected_amount * (
        10_000 + price_grace_bp
    ):
        amendments.append("price_rose")
    if priced.ended:
        amendments.append("promotion_ended")
    if gate.requires_prepayment:
        reasons.append("watch_tier")
    if priced.amount > gate.approval_threshold:
        reasons.append("amount_above_threshold")
    order = Order(
        id=body.id,
        dealer_id=actor.dealer_id,
        status=OrderStatus.SUBMITTED,
        content_hash=digest,
        quote_id=body.quote_id,
        address_id=body.address_id,
        ship_region_code=region_code,
        currency=currency,
        list_amount=priced.list_amount,
        discount=priced.discount,
        amount=priced.amount,
        captured=0,
        allow_backorder=body.allow_backorder,
        basis_fingerprint=priced.fingerprint,
        note=body.note,
        review_reasons=reasons,
        amendments=amendments,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        lines=priced.lines,
        events=[],
        shipments=[],
    )
    add_event(order, actor, None, OrderStatus.SUBMITTED, now)
    if amendments:
        order.status = OrderStatus.PENDING_CONFIRMATION
        add_event(order, actor, OrderStatus.SUBMITTED, OrderStatus.PENDING_CONFIRMATION, now)
    elif not reasons:
        order.status = OrderStatus.APPROVED
        add_event(order, None, OrderStatus.SUBMITTED, OrderStatus.APPROVED, now, "auto")
    return order


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
