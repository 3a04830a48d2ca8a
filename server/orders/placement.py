"""Placing orders: from a cart or an accepted quote, priced, reserved, funded, in one fixed order.

A placement runs: replay check -> dealer status -> lines (cart priced now, or the quote's
pinned prices) -> ship-to check (窜货) -> claim the client's order id -> the rebate it may
spend (``server.orders.rebate``) -> reserve stock -> hold funds -> consume promotion budgets
-> review rules (and HQ's approval chain: when any of its steps applies, the order waits
for them, reason ``approval_chain``); ``pinned`` lines, priced by the caller, replace the
pricing (an exchange's replacement at the original order's prices). Always stock first,
then funds, so two orders never take the two locks in opposite orders. The client's order id is the
primary key: a retry with the same content answers the stored order; a concurrent twin
waits on the key (at the gate, ``server.orders.gate``), then does the same.

A promotion whose budget ran out (for everyone, or for this dealer) does not block a cart
order: the savepoint is undone, the cart priced again without that promotion and placed,
with the amendment ``promotion_ended`` for the dealer to confirm. Each retry leaves out one
more promotion that the previous pricing applied, so there are at most as many retries as
promotions applied (:func:`_place_until_budgets_hold`).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import hold_funds
from server.approvals import (
    ApprovalDocument,
    Facts,
    Step,
    applicable,
    latest_task,
    new_task,
    publish_task,
)
from server.audit.service import record
from server.db.batch import add_new, batched_writes
from server.db.errors import DuplicateKey, duplicate_keys_raised
from server.db.session import restore_notes, snapshot_notes
from server.dealers import address_region
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.identity.principal import Principal
from server.inventory import OrderLine as StockOrderLine
from server.inventory import Reservation, reserve_for_dealer
from server.orders.events import add_event
from server.orders.gate import Gate, check_dealer, is_diversion, read_gate
from server.orders.models import Order, OrderStatus
from server.orders.pricing import Priced, price_cart, price_quote, spread_reserved
from server.orders.publication import note_order_change
from server.orders.queries import find_order
from server.orders.rebate import fund_sources, rebate_use
from server.orders.schemas import OrderCreate
from server.pricelists.loading import PricingCache
from server.promotions import BudgetExhausted, consume_order_budgets

DEFAULT_PRICE_GRACE_BP = 50  # 0.5 %


class Placement(msgspec.Struct, kw_only=True):
    """The order and whether this call created it (False: a replay of the same order)."""

    order: Order
    created: bool


@dataclass(frozen=True, slots=True)
class _Placing:
    """What one placement knows before it takes stock and funds."""

    actor: Principal
    dealer_id: uuid.UUID
    body: OrderCreate
    digest: str
    gate: Gate
    reasons: tuple[str, ...]  # review reasons found before pricing (diversion)
    region_code: str | None
    currency: str
    now: datetime
    price_grace_bp: int


def content_hash(body: OrderCreate) -> str:
    """What makes a retry the same order: lines, quote, address, backorder flag, rebate choice.

    The rebate choice joins only when given, so an order that does not say hashes as before.
    """
    content: list[object] = [
        [[ln.sku, ln.qty] for ln in body.lines],
        str(body.quote_id) if body.quote_id else None,
        str(body.address_id) if body.address_id else None,
        body.allow_backorder,
    ]
    if body.use_rebate is not None or body.rebate_amount is not None:
        content.append({"useRebate": body.use_rebate, "rebateAmount": body.rebate_amount})
    canonical = msgspec.json.encode(content)
    return hashlib.sha256(canonical).hexdigest()


def stock_reference(order_id: uuid.UUID) -> str:
    """The reference of an order's reservation and funds hold."""
    return str(order_id)


def _id_taken() -> Conflict:
    return Conflict("order_id_conflict", "该订单号已被使用", "This order id is already in use")


async def _replay(session: AsyncSession, order_id: uuid.UUID, digest: str) -> Placement:
    """The stored order for a retry of the same content; 409 for any other use of its id."""
    existing = await find_order(session, order_id)
    if existing is None:  # the id is another dealer's order
        raise _id_taken()
    if existing.content_hash != digest:
        raise Conflict(
            "order_id_conflict",
            "该订单号已用于另一笔不同的订单",
            "This order id was already used for a different order",
            orderId=str(existing.id),
        )
    return Placement(order=existing, created=False)


async def place_order(
    session: AsyncSession,
    cache: PricingCache,
    actor: Principal,
    body: OrderCreate,
    *,
    currency: str,
    now: datetime,
    price_grace_bp: int = DEFAULT_PRICE_GRACE_BP,
    pinned: Priced | None = None,
) -> Placement:
    """Create the order (or answer a retry); ``pinned``: lines priced by the caller."""
    dealer_id = actor.dealer_id
    if dealer_id is None:
        raise Forbidden("dealer_required", "仅经销商可以下单", "Only dealers place orders")
    digest = content_hash(body)
    # Concurrent twins of one order id queue at the gate: the one that goes second reads the
    # order the first committed (a replay), so neither writes anything twice.
    gate = await read_gate(session, dealer_id, body.id)
    if gate.order_exists:
        return await _replay(session, body.id, digest)
    if (body.quote_id is None) == (not body.lines):
        raise Invalid(
            "order_source_invalid",
            "订单须来自购物车或报价之一",
            "Give either lines or a quote id, not both or neither",
        )
    check_dealer(gate)
    priced = (
        pinned
        if pinned is not None
        else await _price(session, cache, actor, body, gate, currency, now)
    )
    region_code, reasons = await _ship_to(session, body, dealer_id, gate)
    placing = _Placing(
        actor=actor,
        dealer_id=dealer_id,
        body=body,
        digest=digest,
        gate=gate,
        reasons=reasons,
        region_code=region_code,
        currency=currency,
        now=now,
        price_grace_bp=price_grace_bp,
    )
    order = await _place_until_budgets_hold(session, cache, placing, priced)
    await _announce_placed(session, order)
    return Placement(order=order, created=True)


async def _announce_placed(session: AsyncSession, order: Order) -> None:
    """Publish the new order, its approval task if a chain holds it, and the system's decision
    if it was approved at once."""
    note_order_change(session, order)
    if "approval_chain" in order.review_reasons:
        task = await latest_task(session, ApprovalDocument.ORDER, order.id)
        if task is not None:
            await publish_task(session, task, [])


async def _price(
    session: AsyncSession,
    cache: PricingCache,
    actor: Principal,
    body: OrderCreate,
    gate: Gate,
    currency: str,
    now: datetime,
) -> Priced:
    """The order's lines priced: the quote's pinned prices, or the cart priced now."""
    if body.quote_id is not None:
        return await price_quote(session, actor, body.quote_id, now)
    assert actor.dealer_id is not None
    return await price_cart(
        session,
        cache,
        actor.dealer_id,
        body.lines,
        currency=currency,
        now=now,
        revision=gate.revision,
    )


async def _ship_to(
    session: AsyncSession, body: OrderCreate, dealer_id: uuid.UUID, gate: Gate
) -> tuple[str | None, tuple[str, ...]]:
    """The ship-to region and the review reason it gives (``diversion``: 窜货), if any."""
    if body.address_id is None:
        return None, ()
    region = await address_region(session, dealer_id, body.address_id)
    if region is None:
        raise NotFound("address_not_found", "收货地址不存在", "address not found")
    diverted = await is_diversion(session, gate.region_codes, region)
    return region, ("diversion",) if diverted else ()


async def _place_until_budgets_hold(
    session: AsyncSession, cache: PricingCache, placing: _Placing, priced: Priced
) -> Order:
    """Place the priced order; when a promotion's budget ran out, price again without it.

    A budgeted promotion can run out at placement: then stock, funds and budgets are taken
    in a savepoint, undone if it does, and the cart priced again without that promotion.
    """
    notes = snapshot_notes(session)
    while True:
        budgeted = bool(cache.budgets.to_check(priced.promotions))
        savepoint = await session.begin_nested() if budgeted else None
        try:
            with duplicate_keys_raised():
                order = await _place_priced(session, cache, placing, priced)
            if savepoint is not None:
                await savepoint.commit()
            return order
        except BudgetExhausted as exc:
            # The savepoint undoes the reservation, the hold and every budget taken.
            assert savepoint is not None
            await savepoint.rollback()
            restore_notes(session, notes)
            code = exc.extra.get("promotion")
            if placing.body.quote_id is not None or code not in priced.promotions:
                raise
            priced = await price_cart(
                session,
                cache,
                placing.dealer_id,
                placing.body.lines,
                currency=placing.currency,
                now=placing.now,
                ended=(*priced.ended, code),
            )
        except DuplicateKey as exc:
            # Not a twin (those wait at the gate's claim): the id is taken by a row this
            # dealer cannot see. The transaction is spoiled; the request rolls back.
            restore_notes(session, notes)
            raise _id_taken() from exc


async def _place_priced(
    session: AsyncSession, cache: PricingCache, placing: _Placing, priced: Priced
) -> Order:
    """Reserve, hold, take budgets and write the order with its trail and audit row."""
    # The rows go out together, at the end, in one statement (``server.db.batch``).
    async with batched_writes(session):
        reservation, rebate = await _reserve_and_hold(session, cache, placing, priced)
        order, chain = _new_order(placing, priced, reservation)
        order.rebate = rebate
        add_new(session, order)
        if chain:
            facts = _facts(placing, order.amount, order.review_reasons)
            task = new_task(
                ApprovalDocument.ORDER,
                order.id,
                order.dealer_id,
                facts,
                order.content_hash,
                chain,
                placing.now,
            )
            add_new(session, task)
        _record_placed(session, placing.actor, order, priced)
    return order


def _record_placed(session: AsyncSession, actor: Principal, order: Order, priced: Priced) -> None:
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
    session: AsyncSession, cache: PricingCache, placing: _Placing, priced: Priced
) -> tuple[Reservation, int]:
    """Reserve the priced lines' stock, hold the payable, take the promotions' budgets;
    answers the reservation and what rebate pays (``server.orders.rebate``)."""
    body, dealer_id, gate = placing.body, placing.dealer_id, placing.gate
    reference = stock_reference(body.id)
    use = await rebate_use(session, dealer_id, gate.rebate, body, priced)  # refuses before writes
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
    rebate = 0
    if priced.amount > 0:
        hold = await hold_funds(
            session,
            dealer_id,
            reference,
            priced.amount,
            fund_sources(gate.requires_prepayment, use),
            rebate_cap=use.cap,
            rebate_exact=use.exact,
            dealer_checked=True,
            new_reference=True,
        )
        rebate = hold.rebate
    await consume_order_budgets(session, cache.budgets, dealer_id, body.id, priced.promotions)
    return reservation, rebate


def _amendments(placing: _Placing, priced: Priced, reservation: Reservation) -> list[str]:
    """What the dealer must confirm: a partial reservation, a risen price, an ended promotion."""
    amendments: list[str] = []
    if reservation.backordered:
        amendments.append("stock_partial")
    expected = placing.body.expected_amount
    if expected is not None and priced.amount * 10_000 > expected * (
        10_000 + placing.price_grace_bp
    ):
        amendments.append("price_rose")
    if priced.ended:
        amendments.append("promotion_ended")
    return amendments


def _review_reasons(placing: _Placing, priced: Priced) -> list[str]:
    """Why HQ reviews the order before it goes on (none: approved at once)."""
    reasons = list(placing.reasons)
    if placing.gate.requires_prepayment:
        reasons.append("watch_tier")
    if priced.amount > placing.gate.approval_threshold:
        reasons.append("amount_above_threshold")
    return reasons


def _facts(placing: _Placing, amount: int, reasons: list[str]) -> Facts:
    """What HQ's approval chain sees of the order: amount, tier, ship-to region, reasons."""
    return Facts(
        amount=amount,
        tier=placing.gate.tier_code,
        region=placing.region_code,
        reasons=tuple(r for r in reasons if r != "approval_chain"),
    )


def _new_order(
    placing: _Placing, priced: Priced, reservation: Reservation
) -> tuple[Order, list[Step]]:
    """The order as placed: lines with what was reserved, review reasons, status and trail;
    and the steps of HQ's approval chain it goes through (none: the chain does not apply)."""
    reserved: dict[uuid.UUID, int] = {}
    for rl in reservation.lines:
        reserved[rl.sku_id] = reserved.get(rl.sku_id, 0) + rl.quantity
    spread_reserved(priced.lines, reserved)
    amendments = _amendments(placing, priced, reservation)
    reasons = _review_reasons(placing, priced)
    chain = applicable(list(placing.gate.approval_steps), _facts(placing, priced.amount, reasons))
    if chain:
        reasons.append("approval_chain")
    body, actor, now = placing.body, placing.actor, placing.now
    order = Order(
        id=body.id,
        dealer_id=placing.dealer_id,
        status=OrderStatus.SUBMITTED,
        content_hash=placing.digest,
        quote_id=body.quote_id,
        address_id=body.address_id,
        ship_region_code=placing.region_code,
        currency=placing.currency,
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
    return order, chain
