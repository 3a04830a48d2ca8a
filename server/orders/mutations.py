"""The order mutations offline clients push: ``order.create``, ``order.confirm_amendment``,
``order.cancel``.

Outcomes: ``Applied`` with the order; ``Amended`` when the price rose beyond the grace since
the client's basis or stock is only partial (the order waits in ``pending_confirmation``
until ``order.confirm_amendment``); ``Rejected`` with the error's code for business errors.
The business key of ``order.create`` is the order id.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.errors import ChannelhubError, camel_keys
from server.identity.principal import Principal, dealer_principal
from server.orders.models import OrderStatus
from server.orders.schemas import Comment, OrderCreate, OrderLineIn, RebateAmount
from server.orders.service import DEFAULT_PRICE_GRACE_BP, order_out, place_order
from server.orders.transitions import transition
from server.pricelists import PricingCache
from sync import (
    Amended,
    Applied,
    MutationContext,
    MutationRegistry,
    Outcome,
    Rejected,
    SyncPrincipal,
)


class Args(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    pass


class CreateArgs(Args, kw_only=True):
    """``basis`` is the payable (fen) the client saw when it queued the order; ``useRebate``
    and ``rebateAmount`` as on ``POST /mp/orders``."""

    id: uuid.UUID
    lines: Annotated[list[OrderLineIn], msgspec.Meta(max_length=500)] = []
    quote_id: uuid.UUID | None = None
    address_id: uuid.UUID | None = None
    basis: Annotated[int, msgspec.Meta(ge=0, le=10**12)] | None = None
    allow_backorder: bool = False
    note: Comment = ""
    use_rebate: bool | None = None
    rebate_amount: RebateAmount | None = None


class OrderRef(Args, kw_only=True):
    id: uuid.UUID


def actor_of(principal: SyncPrincipal) -> Principal:
    """The dealer user behind a push, in the role their token carries."""
    actor = dealer_principal(principal.subject_id, principal.dealer_id, principal.role)
    if actor is None:
        raise ChannelhubError("dealer_required")
    return actor


def rejection(exc: ChannelhubError) -> Rejected:
    """A business refusal as a mutation outcome: its code, both texts, its field errors."""
    detail: dict[str, object] = {"message": exc.en, "messageZh": exc.zh}
    if exc.errors:
        detail["errors"] = exc.errors
    if exc.extra:
        detail.update(camel_keys(exc.extra))
    return Rejected(reason=exc.code, detail=detail)


def register(
    registry: MutationRegistry,
    cache: PricingCache,
    *,
    currency: str = "CNY",
    price_grace_bp: int = DEFAULT_PRICE_GRACE_BP,
) -> None:
    """Register the order mutations with the sync engine."""

    async def create(
        session: AsyncSession, principal: SyncPrincipal, args: CreateArgs, ctx: MutationContext
    ) -> Outcome:
        if ctx.business_key is not None and ctx.business_key != str(args.id):
            return Rejected(reason="business_key_mismatch", detail={"expected": str(args.id)})
        try:
            placement = await place_order(
                session,
                cache,
                actor_of(principal),
                OrderCreate(
                    id=args.id,
                    lines=args.lines,
                    quote_id=args.quote_id,
                    address_id=args.address_id,
                    allow_backorder=args.allow_backorder,
                    expected_amount=args.basis,
                    note=args.note,
                    use_rebate=args.use_rebate,
                    rebate_amount=args.rebate_amount,
                ),
                currency=currency,
                now=ctx.now,
                price_grace_bp=price_grace_bp,
            )
        except ChannelhubError as exc:
            return rejection(exc)
        order = placement.order
        out = msgspec.to_builtins(order_out(order))
        if order.status is OrderStatus.PENDING_CONFIRMATION:
            return Amended(reason=",".join(order.amendments), detail=out)
        return Applied(detail=out)

    async def confirm(
        session: AsyncSession, principal: SyncPrincipal, args: OrderRef, ctx: MutationContext
    ) -> Outcome:
        return await _move(session, principal, args.id, OrderStatus.SUBMITTED)

    async def cancel(
        session: AsyncSession, principal: SyncPrincipal, args: OrderRef, ctx: MutationContext
    ) -> Outcome:
        return await _move(session, principal, args.id, OrderStatus.CANCELLED)

    registry.register("order.create", CreateArgs, create)
    registry.register("order.confirm_amendment", OrderRef, confirm)
    registry.register("order.cancel", OrderRef, cancel)


async def _move(
    session: AsyncSession, principal: SyncPrincipal, order_id: uuid.UUID, to: OrderStatus
) -> Outcome:
    try:
        order = await transition(session, actor_of(principal), order_id, to, utcnow())
    except ChannelhubError as exc:
        return rejection(exc)
    return Applied(detail=msgspec.to_builtins(order_out(order)))
