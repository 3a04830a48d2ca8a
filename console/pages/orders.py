"""Orders review: the queue with reasons in words, one order's detail, approve / reject."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.params import QueryCode, QueryText
from console.render import page, parse_yuan
from console.session import requires_console
from server.db.base import utcnow
from server.dealers.service import dealer_labels, dealer_region_codes
from server.errors import Invalid
from server.identity.guards import requires_hq_admin
from server.identity.principal import Principal
from server.orders import OrderStatus, service, transitions
from server.regions.service import region_names
from server.text import multi_line, one_line

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class DecisionForm(msgspec.Struct, kw_only=True):
    action: Annotated[str, one_line(16)] = ""
    comment: Annotated[str, multi_line(500)] = ""


class ThresholdForm(msgspec.Struct, kw_only=True):
    threshold: Annotated[str, one_line(20)] = ""


@get("/orders", guards=[requires_console])
async def orders_queue(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    cursor: QueryText = "",
    saved: QueryCode = "",
) -> Template:
    """Submitted orders waiting for HQ, with why each waits."""
    rows, next_cursor = await service.list_orders(
        db_session, review=True, cursor=cursor or None, limit=50
    )
    dealers = await dealer_labels(db_session, (o.dealer_id for o in rows))
    regions = await region_names(
        db_session, (o.ship_region_code for o in rows if o.ship_region_code)
    )
    return page(
        request,
        "orders.html",
        orders=rows,
        dealers=dealers,
        regions=regions,
        next_cursor=next_cursor,
        threshold=await service.approval_threshold(db_session),
        saved=bool(saved),
    )


@get("/orders/{order_id:uuid}", guards=[requires_console])
async def order_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    order_id: FromPath[uuid.UUID],
    decided: QueryCode = "",
) -> Template:
    """One order: price explanation, allocation, shipments, history, and the decision."""
    order = service.order_out(await service.get_order(db_session, order_id))
    authorized = await dealer_region_codes(db_session, order.dealer_id)
    names = await region_names(
        db_session, [*authorized, *([order.ship_region_code] if order.ship_region_code else [])]
    )
    return page(
        request,
        "order.html",
        order=order,
        dealer=(await dealer_labels(db_session, [order.dealer_id])).get(order.dealer_id, ("", "")),
        authorized=[names.get(c, c) for c in authorized],
        ship_region=names.get(order.ship_region_code or "", order.ship_region_code or ""),
        in_review=order.status is OrderStatus.SUBMITTED,
        decided=bool(decided),
    )


@post("/orders/{order_id:uuid}/decide", guards=[requires_console])
async def decide_order(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    order_id: FromPath[uuid.UUID],
    data: Annotated[DecisionForm, Form],
) -> Redirect:
    """Approve or reject (a rejection needs a comment) and go back to the queue."""
    targets = {"approve": OrderStatus.APPROVED, "reject": OrderStatus.REJECTED}
    if data.action not in targets:
        raise Invalid("action_invalid", "未知的操作", "Unknown action")
    await transitions.decide_review(
        db_session, principal, order_id, targets[data.action], utcnow(), data.comment
    )
    return Redirect(f"/console/orders/{order_id}?decided=1", status_code=303)


@post("/orders/threshold", guards=[requires_console, requires_hq_admin])
async def set_threshold(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    data: Annotated[ThresholdForm, Form],
) -> Redirect:
    """Set the payable above which orders wait for review (admins only, audited)."""
    fen = parse_yuan(data.threshold)
    if fen is None:
        raise Invalid("amount_invalid", "请填写金额", "Enter an amount")
    await service.set_approval_threshold(db_session, principal, fen)
    return Redirect("/console/orders?saved=1", status_code=303)


HANDLERS = (orders_queue, order_page, decide_order, set_threshold)
