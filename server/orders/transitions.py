"""The order state machine: every transition checked, audited, recorded and published.

    pending_confirmation ──confirm──> submitted ──approve (auto or HQ)──> approved
    approved ──allocate──> allocated ──ship (part)──> partially_shipped ──ship──> shipped
    shipped ──receive (dealer)──> received ──complete──> completed
    pending_confirmation / submitted / approved ──cancel (dealer)──> cancelled
    pending_confirmation / submitted / approved / allocated ──reject (HQ)──> rejected

Cancel and reject release the stock reservation and the funds hold. Each shipment captures
funds in proportion to the value shipped; completion gives back whatever is still held
(backordered goods never shipped). An illegal transition is 409 ``order_transition_invalid``
naming ``from`` and ``to``; nothing changes. A review decision (``decide_review``) is taken
once: only an order still in review may be approved or rejected by it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import HoldStatus, capture_hold, get_hold, release_hold
from server.approvals import (
    ApprovalDocument,
    DecisionIn,
    TaskStatus,
    close_task,
    open_task,
    vote,
)
from server.audit import record
from server.errors import Conflict, Invalid, NotFound
from server.identity.principal import Principal
from server.inventory import StockLine, get_reservation, release_reservation, ship_reserved
from server.orders.decisions import note_order_decision
from server.orders.models import Order, OrderShipment, OrderStatus
from server.orders.notices import note_order_notice
from server.orders.publication import note_order_change
from server.orders.schemas import ShipIn
from server.orders.service import add_event, get_order, stock_reference
from server.promotions import accrue_rebates, release_order_budgets, shipment_amounts

S = OrderStatus
ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_CONFIRMATION: frozenset({S.SUBMITTED, S.CANCELLED, S.REJECTED}),
    S.SUBMITTED: frozenset({S.APPROVED, S.CANCELLED, S.REJECTED}),
    S.APPROVED: frozenset({S.ALLOCATED, S.CANCELLED, S.REJECTED}),
    S.ALLOCATED: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.REJECTED}),
    S.PARTIALLY_SHIPPED: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED}),
    S.SHIPPED: frozenset({S.RECEIVED}),
    S.RECEIVED: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
}
OPEN = frozenset({S.PENDING_CONFIRMATION, S.SUBMITTED, S.APPROVED, S.ALLOCATED})


# What a person reads for each status (the HQ console shows the same words).
STATUS_NAMES: dict[OrderStatus, tuple[str, str]] = {
    OrderStatus.PENDING_CONFIRMATION: ("待经销商确认", "awaiting dealer confirmation"),
    OrderStatus.SUBMITTED: ("待审核", "submitted"),
    OrderStatus.APPROVED: ("已批准", "approved"),
    OrderStatus.ALLOCATED: ("已分配", "allocated"),
    OrderStatus.PARTIALLY_SHIPPED: ("部分发货", "partly shipped"),
    OrderStatus.SHIPPED: ("已发货", "shipped"),
    OrderStatus.RECEIVED: ("已收货", "received"),
    OrderStatus.COMPLETED: ("已完成", "completed"),
    OrderStatus.CANCELLED: ("已取消", "cancelled"),
    OrderStatus.REJECTED: ("已驳回", "rejected"),
}


def check_transition(order: Order, to: OrderStatus) -> None:
    """409 ``order_transition_invalid`` unless ``order`` may move to ``to`` (the body keeps
    both status codes as ``from`` and ``to``)."""
    if to not in ALLOWED[order.status]:
        names: dict[str, Any] = {"from": str(order.status), "to": str(to)}
        (from_zh, from_en), (to_zh, to_en) = STATUS_NAMES[order.status], STATUS_NAMES[to]
        raise Conflict(
            "order_transition_invalid",
            f"订单状态不能从“{from_zh}”变为“{to_zh}”",
            f"An order cannot go from {from_en} to {to_en}",
            **names,
        )


async def locked_order(session: AsyncSession, order_id: uuid.UUID) -> Order:
    """The order, row-locked for the transition (404 for another dealer's)."""
    stmt = (
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    order = (await session.execute(stmt)).scalar_one_or_none()
    if order is None:
        return await get_order(session, order_id)
    return order


def move_to(
    session: AsyncSession,
    order: Order,
    to: OrderStatus,
    actor: Principal | None,
    now: datetime,
    comment: str = "",
) -> None:
    """Record one legal transition: event row, audit event, sync publication."""
    check_transition(order, to)
    before = order.status
    order.status = to
    add_event(order, actor, before, to, now, comment)
    record(
        session,
        actor,
        f"order.{to}",
        "order",
        order.id,
        {"from": str(before), "to": str(to), "comment": comment},
    )
    note_order_decision(session, actor, order, comment)
    note_order_notice(session, order, now, comment)
    note_order_change(session, order)


async def _release(session: AsyncSession, order: Order) -> None:
    reference = stock_reference(order.id)
    await release_reservation(session, reference)
    for ln in order.lines:
        ln.reserved = ln.shipped
    if order.amount > 0:
        await release_hold(session, reference)
    await release_order_budgets(session, order.dealer_id, order.id)


async def transition(
    session: AsyncSession,
    actor: Principal,
    order_id: uuid.UUID,
    to: OrderStatus,
    now: datetime,
    comment: str = "",
    seen: DecisionIn | None = None,
) -> Order:
    """Move an order to ``to`` (approve, allocate, receive, complete, cancel, reject, confirm).

    An order under review with a pending approval chain moves only when its chain is done:
    approving or rejecting it is the actor's vote on the chain's current step.
    """
    order = await locked_order(session, order_id)
    check_transition(order, to)
    if order.status is S.SUBMITTED and to in (S.APPROVED, S.REJECTED):
        task = await open_task(session, ApprovalDocument.ORDER, order.id)
        if task is not None:
            body = DecisionIn(
                comment=comment,
                content_hash=seen.content_hash if seen else None,
                step=seen.step if seen else None,
            )
            decided = await vote(
                session, actor, task, to is S.APPROVED, body, order.content_hash, now
            )
            if decided is TaskStatus.PENDING:
                return order  # the next step decides
    if order.status is S.SUBMITTED and to is S.CANCELLED:
        task = await open_task(session, ApprovalDocument.ORDER, order.id)
        if task is not None:
            await close_task(session, task, now)
    if to is S.REJECTED and not comment.strip():
        raise Invalid(
            "comment_required",
            "驳回时须填写意见",
            "A rejection needs a comment",
            errors=[
                {"key": "comment", "message": "请填写驳回意见", "message_en": "Required to reject"}
            ],
        )
    if to in (S.CANCELLED, S.REJECTED):
        await _release(session, order)
    if to is S.COMPLETED and order.amount > 0:
        hold = await get_hold(session, stock_reference(order.id))
        if hold.status is HoldStatus.HELD:
            await release_hold(session, stock_reference(order.id))
    if order.status is S.PENDING_CONFIRMATION and to is S.SUBMITTED:
        move_to(session, order, S.SUBMITTED, actor, now, comment or "amendment confirmed")
        if not order.review_reasons:
            move_to(session, order, S.APPROVED, None, now, "auto")
    else:
        move_to(session, order, to, actor, now, comment)
    await session.flush()
    return order


async def decide_by_chain(
    session: AsyncSession,
    actor: Principal,
    document_id: str,
    approve: bool,
    body: DecisionIn,
    now: datetime,
) -> None:
    """A vote on an order's approval chain from ``/hq/approvals`` (the last one moves it)."""
    try:
        order_id = uuid.UUID(document_id)
    except ValueError as exc:
        raise NotFound("order_not_found") from exc
    to = S.APPROVED if approve else S.REJECTED
    await transition(session, actor, order_id, to, now, body.comment, body)


async def decide_review(
    session: AsyncSession,
    actor: Principal,
    order_id: uuid.UUID,
    to: OrderStatus,
    now: datetime,
    comment: str = "",
) -> Order:
    """A reviewer's decision on an order held for review (approve or reject), taken once: 409
    ``order_already_decided`` when the order has left review, e.g. another reviewer decided it
    first (a later reject of an approved order is a separate step, not a review decision)."""
    if to not in (S.APPROVED, S.REJECTED):
        raise Invalid("action_invalid", "未知的操作", "Unknown action")
    order = await locked_order(session, order_id)
    if order.status is not S.SUBMITTED:
        zh, en = STATUS_NAMES[order.status]
        raise Conflict(
            "order_already_decided",
            f"该订单已不在审核中（现为“{zh}”），可能已被他人处理，请刷新后查看",
            f"This order is no longer in review (now {en}); someone may have decided it first."
            " Reload the page",
            status=str(order.status),
        )
    return await transition(session, actor, order_id, to, now, comment)


def _ship_quantities(order: Order, body: ShipIn) -> dict[int, int]:
    """Order line -> quantity to ship now (everything reserved and unshipped when no lines)."""
    if not body.lines:
        return {ln.line: ln.reserved - ln.shipped for ln in order.lines if ln.reserved > ln.shipped}
    wanted: dict[str, int] = {}
    for x in body.lines:
        wanted[x.sku] = wanted.get(x.sku, 0) + x.qty
    out: dict[int, int] = {}
    for ln in order.lines:
        take = min(wanted.get(ln.sku_code, 0), ln.reserved - ln.shipped)
        if take > 0:
            out[ln.line] = take
            wanted[ln.sku_code] -= take
    if any(v > 0 for v in wanted.values()):
        raise Invalid(
            "ship_exceeds_order",
            "发货数量超过订单可发数量",
            "Shipping more than the order has reserved and unshipped",
            errors=[
                {"key": "lines", "message": f"商品 {s}", "message_en": f"SKU {s}"}
                for s, v in wanted.items()
                if v > 0
            ],
        )
    return out


async def _stock_lines(
    session: AsyncSession, order: Order, by_sku: dict[uuid.UUID, int]
) -> list[StockLine]:
    """Spread each SKU's quantity over the reservation's warehouses."""
    reservation = await get_reservation(session, stock_reference(order.id))
    out: list[StockLine] = []
    left = dict(by_sku)
    for rl in reservation.lines:
        take = min(left.get(rl.sku_id, 0), rl.open_quantity)
        if take > 0:
            out.append(StockLine(warehouse_id=rl.warehouse_id, sku_id=rl.sku_id, quantity=take))
            left[rl.sku_id] -= take
    if any(v > 0 for v in left.values()):  # the order's lines and its reservation disagree
        raise Conflict("reservation_mismatch", "预占与订单不一致", "Reservation does not match")
    return out


def _captured_target(order: Order) -> int:
    """Funds due for what has shipped: each line's amount in proportion to its shipped
    quantity, rounded down (exactly the whole amount once every unit has shipped)."""
    return sum(ln.amount * ln.shipped // ln.qty for ln in order.lines)


async def ship(
    session: AsyncSession, actor: Principal, order_id: uuid.UUID, body: ShipIn, now: datetime
) -> Order:
    """Ship some or all reserved goods with carrier and tracking; capture funds pro rata."""
    order = await locked_order(session, order_id)
    if order.status not in (S.ALLOCATED, S.PARTIALLY_SHIPPED):
        check_transition(order, S.SHIPPED)
    quantities = _ship_quantities(order, body)
    if not quantities:
        raise Invalid("nothing_to_ship", "没有可发货的商品", "Nothing left to ship")
    by_line = {ln.line: ln for ln in order.lines}
    by_sku: dict[uuid.UUID, int] = {}
    for line_no, qty in quantities.items():
        ln = by_line[line_no]
        by_sku[ln.sku_id] = by_sku.get(ln.sku_id, 0) + qty
    reference = stock_reference(order.id)
    await ship_reserved(session, reference, await _stock_lines(session, order, by_sku))
    for line_no, qty in quantities.items():
        by_line[line_no].shipped += qty
    done = all(ln.shipped == ln.reserved for ln in order.lines)
    target = _captured_target(order)
    capture = target - order.captured
    if order.amount > 0 and capture > 0:
        await capture_hold(session, reference, capture, final=False)
    order.captured += max(capture, 0)
    order.shipments.append(
        OrderShipment(
            id=uuid.uuid4(),
            carrier=body.carrier,
            tracking_no=body.tracking_no,
            lines=[{"sku": by_line[n].sku_code, "qty": q} for n, q in sorted(quantities.items())],
            captured=max(capture, 0),
            shipped_at=now,
            actor_id=actor.user_id,
        )
    )
    rebate_ref = f"{order.id}/{len(order.shipments)}"  # the nth shipment accrues once
    await accrue_rebates(
        session, order.dealer_id, rebate_ref, shipment_amounts(order.lines, quantities), now
    )
    move_to(
        session,
        order,
        S.SHIPPED if done else S.PARTIALLY_SHIPPED,
        actor,
        now,
        f"{body.carrier} {body.tracking_no}",
    )
    await session.flush()
    return order


async def open_reservation_total(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> int:
    """What the given orders still hold reserved (for invariant checks)."""
    total = 0
    for order_id in order_ids:
        try:
            reservation = await get_reservation(session, stock_reference(order_id))
        except NotFound:
            continue
        total += sum(rl.open_quantity for rl in reservation.lines)
    return total
