"""The warehouse receives an approved return: stock moves, then the money follows.

Lock order: the order's row (as every return request takes it), then the return's row, then
(inside ``refund_capture``) the dealer's accounts; so a receipt and new requests of the same
order queue at the order, and the refund's running totals see every earlier receipt.

Money, fixed at receipt (see ``server.returns.presenter`` for the rules in words):

- each returned unit of an order line is refunded at its share of the line's paid amount,
  rounded down on the running total of the line's received returns, so all returns of a line
  together never exceed what it paid for the units shipped;
- ``refund_capture`` gives that back to the order's funds sources in proportion;
- the rebate accrued on the order's shipments is clawed back in the share the returned value
  bears to the value shipped (running total again: the returns of an order never claw back
  more than was accrued).

Invoices follow too: the order's refunds so far (less their rebate part, as invoices are at
the price paid less rebate) go to ``request_red_invoice``, which asks for red-letter invoices
where the order's issued invoices now exceed the goods it kept.

An exchange is refunded the same way, then its replacement order (id derived from the
return's, so a retried receipt cannot place two) is placed at the original's paid prices and
holds its funds like any order: the money goes back to the sources and is held again.
Its placement takes stock rows after the refund took the dealer's accounts (the reverse of
placement's stock-then-funds), so on PostgreSQL an exchange receipt racing an order of the
same dealer for the same SKUs can deadlock; the database then aborts one of them, which is
answered 503 with Retry-After like every transient error, and nothing is half-done.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import rebate_accrued, refund_capture
from server.audit import record
from server.errors import Conflict
from server.identity import Role
from server.identity.principal import Principal
from server.inventory import MovementKind
from server.invoices import request_red_invoice
from server.orders.returnable import (
    ReturnableOrder,
    place_replacement,
    returnable_order,
    take_back_goods,
)
from server.pricelists.loading import PricingCache
from server.returns.models import Disposition, ReturnLine, ReturnRequest, ReturnStatus
from server.returns.publication import publish_return
from server.returns.queries import get_return

_UNSELLABLE = {
    Disposition.SELLABLE: None,
    Disposition.QUARANTINE: MovementKind.QUARANTINE,
    Disposition.SCRAP: MovementKind.SCRAP,
}


async def _received_before(
    session: AsyncSession, order_id: uuid.UUID
) -> tuple[dict[int, int], int, int]:
    """For the order's returns received so far: quantity by order line, the value returned,
    and the clawback due (taken and short)."""
    r = ReturnRequest
    by_line = {
        int(line): int(qty or 0)
        for line, qty in await session.execute(
            select(ReturnLine.order_line, func.sum(ReturnLine.qty))
            .join(r, r.id == ReturnLine.return_id)
            .where(ReturnLine.order_id == order_id, r.status == ReturnStatus.REFUNDED)
            .group_by(ReturnLine.order_line)
        )
    }
    value, clawed = (
        await session.execute(
            select(
                func.coalesce(func.sum(r.returned_value), 0),
                func.coalesce(func.sum(r.clawback + r.clawback_short), 0),
            ).where(r.order_id == order_id, r.status == ReturnStatus.REFUNDED)
        )
    ).one()
    return by_line, int(value), int(clawed)


def _price_lines(ret: ReturnRequest, order: ReturnableOrder, before: dict[int, int]) -> int:
    """Set each return line's refund (its units' share of the paid amount); their sum."""
    by_line = {ln.line: ln for ln in order.lines}
    total = 0
    for rl in ret.lines:
        ln = by_line[rl.order_line]
        done = before.get(rl.order_line, 0)
        rl.refund = ln.amount * (done + rl.qty) // ln.qty - ln.amount * done // ln.qty
        before[rl.order_line] = done + rl.qty
        total += rl.refund
    return total


async def _clawback_due(
    session: AsyncSession, order: ReturnableOrder, value_before: int, value: int, clawed: int
) -> int:
    """The rebate accrued on the returned goods not yet clawed back by earlier returns."""
    if order.captured <= 0:
        return 0
    accrued = await rebate_accrued(session, order.dealer_id, f"{order.id}/")
    due_total = accrued * min(value_before + value, order.captured) // order.captured
    return max(due_total - clawed, 0)


def _check_receivable(ret: ReturnRequest) -> None:
    if ret.status is not ReturnStatus.APPROVED:
        raise Conflict(
            "return_not_receivable",
            "只有已批准且未收货的退货单可以收货",
            "Only an approved return not yet received can be received",
            status=str(ret.status),
        )


async def _reverse_invoices(session: AsyncSession, ret: ReturnRequest, now: datetime) -> None:
    """Ask for the red-letter invoices the order's refunds make due: invoices are at the price
    paid less the rebate spent, so what counts is the refunds less their rebate part."""
    await session.flush()
    r = ReturnRequest
    refunded = await session.scalar(
        select(func.coalesce(func.sum(r.refund - r.refund_rebate), 0)).where(
            r.order_id == ret.order_id, r.status == ReturnStatus.REFUNDED
        )
    )
    await request_red_invoice(session, ret.order_id, int(refunded or 0), f"return:{ret.id}", now)


def replacement_id(return_id: uuid.UUID) -> uuid.UUID:
    """The id of an exchange's replacement order (one per return)."""
    return uuid.uuid5(return_id, "exchange")


async def _replace(
    session: AsyncSession,
    cache: PricingCache,
    ret: ReturnRequest,
    order: ReturnableOrder,
    now: datetime,
) -> None:
    """Place the exchange's replacement as its dealer (the return's requester)."""
    requester = ret.created_by or ret.dealer_id
    dealer = Principal(user_id=requester, role=Role.DEALER_STAFF, dealer_id=ret.dealer_id)
    ret.exchange_order_id = await place_replacement(
        session,
        cache,
        dealer,
        order,
        replacement_id(ret.id),
        [(rl.order_line, rl.qty) for rl in ret.lines],
        note=f"换货 exchange {ret.id}",
        now=now,
    )


async def receive_return(
    session: AsyncSession,
    actor: Principal,
    return_id: uuid.UUID,
    disposition: Disposition,
    now: datetime,
    cache: PricingCache | None = None,
) -> ReturnRequest:
    """Receive the goods (sellable, quarantine or scrap), refund and claw back rebate; for
    an exchange, place the replacement (``cache``: the app's pricing cache)."""
    order_id = (await get_return(session, return_id)).order_id
    order = await returnable_order(session, order_id, None)
    ret = await get_return(session, return_id, lock=True)
    _check_receivable(ret)
    before, value_before, clawed = await _received_before(session, order.id)
    value = _price_lines(ret, order, before)
    by_sku: dict[uuid.UUID, int] = {}
    for rl in ret.lines:
        by_sku[rl.sku_id] = by_sku.get(rl.sku_id, 0) + rl.qty
    await take_back_goods(
        session, order.id, by_sku, reason=f"return {ret.id}", unsellable=_UNSELLABLE[disposition]
    )
    due = await _clawback_due(session, order, value_before, value, clawed)
    if order.amount > 0 and (value > 0 or due > 0):
        refund = await refund_capture(
            session, order.reference, value, clawback=due, key=str(ret.id), actor_id=actor.user_id
        )
        ret.refund = refund.amount
        ret.refund_prepaid, ret.refund_credit = refund.prepaid, refund.credit
        ret.refund_rebate = refund.rebate
        ret.clawback, ret.clawback_short = refund.clawback, refund.clawback_short
    ret.returned_value = value
    if ret.exchange:
        assert cache is not None, "an exchange places an order: pass the pricing cache"
        await _replace(session, cache, ret, order, now)
    ret.disposition = disposition
    ret.status = ReturnStatus.REFUNDED
    ret.updated_at = now
    await _reverse_invoices(session, ret, now)
    record(
        session,
        actor,
        "return.received",
        "return",
        ret.id,
        {"disposition": str(disposition), "refund": ret.refund, "clawback": ret.clawback},
    )
    await publish_return(session, ret)
    return ret
