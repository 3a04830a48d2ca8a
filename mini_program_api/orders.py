"""A dealer's orders: place (cart or quote), list, detail with shipments, receive, cancel,
reorder."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.identity.guards import requires_dealer
from server.identity.principal import Principal
from server.orders import OrderStatus, service, transitions
from server.orders.schemas import CommentIn, OrderCreate, OrderOut, ReorderIn
from server.schemas import Page
from server.text import LINE_RULE


def _placed(placement: service.Placement) -> Response[OrderOut]:
    return Response(
        service.order_out(placement.order), status_code=201 if placement.created else 200
    )


class OrderController(Controller):
    path = "/mp/orders"
    tags = ("mini-program: orders",)
    guards = (requires_dealer,)

    @post(
        "/",
        summary="Place an order",
        status_code=201,
        responses={200: ResponseSpec(OrderOut, description="A retry: the stored order")},
        opt={"problems": (409,)},
    )
    async def place(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[OrderCreate],
    ) -> Response[OrderOut]:
        """Place from cart lines or a quote; a retry of the same id answers the stored order."""
        placement = await service.place_order(
            db_session,
            state.pricing_cache,
            principal,
            data,
            currency=state.settings.currency,
            now=utcnow(),
            price_grace_bp=state.settings.order_price_grace_bp,
        )
        return _placed(placement)

    @get("/", summary="List my orders")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[OrderStatus | None] = None,
        cursor: Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> Page[OrderOut]:
        """My orders, a page at a time (cursor pagination)."""
        rows, next_cursor = await service.list_orders(
            db_session, status=status, cursor=cursor, limit=limit
        )
        return Page(items=[service.order_out(o) for o in rows], next_cursor=next_cursor)

    @get("/{order_id:uuid}", summary="My order with shipments")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], order_id: FromPath[uuid.UUID]
    ) -> OrderOut:
        """One of my orders with lines, shipments (carrier, tracking) and its trail."""
        return service.order_out(await service.get_order(db_session, order_id))

    @post(
        "/{order_id:uuid}/confirm",
        summary="Confirm an amended order",
        status_code=200,
        opt={"problems": (409,)},
    )
    async def confirm(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
    ) -> OrderOut:
        """Accept the changed price, partial stock or ended promotion of my amended order."""
        order = await transitions.transition(
            db_session, principal, order_id, OrderStatus.SUBMITTED, utcnow()
        )
        return service.order_out(order)

    @post(
        "/{order_id:uuid}/receipt",
        summary="Confirm receipt",
        status_code=200,
        opt={"problems": (409,)},
    )
    async def receive(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
    ) -> OrderOut:
        """I received every shipment of this order."""
        order = await transitions.transition(
            db_session, principal, order_id, OrderStatus.RECEIVED, utcnow()
        )
        return service.order_out(order)

    @post(
        "/{order_id:uuid}/cancel",
        summary="Cancel my order",
        status_code=200,
        opt={"problems": (409,)},
    )
    async def cancel(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[CommentIn],
    ) -> OrderOut:
        """Cancel before allocation: the reserved stock and held funds are released."""
        order = await transitions.transition(
            db_session, principal, order_id, OrderStatus.CANCELLED, utcnow(), data.comment
        )
        return service.order_out(order)

    @post(
        "/{order_id:uuid}/reorder",
        summary="Order again",
        status_code=201,
    )
    async def reorder(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[ReorderIn],
    ) -> Response[OrderOut]:
        """A new order (my id) with the old order's lines at today's prices."""
        placement = await service.reorder(
            db_session,
            state.pricing_cache,
            principal,
            order_id,
            data,
            currency=state.settings.currency,
            now=utcnow(),
        )
        return _placed(placement)
