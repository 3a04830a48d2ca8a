"""HQ side of orders: list and filter, review queue, approve / reject, allocate, ship, settings."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.identity.guards import requires_hq, requires_hq_admin
from server.identity.principal import Principal
from server.orders import service, transitions
from server.orders.models import OrderStatus
from server.orders.schemas import CommentIn, OrderOut, ShipIn, ThresholdIn, ThresholdOut
from server.schemas import Page
from server.text import LINE_RULE

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Cursor = Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)]


class OrderAdminController(Controller):
    path = "/hq/orders"
    tags = ("hq: orders",)
    guards = (requires_hq,)

    @get("/", summary="List orders")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[OrderStatus | None] = None,
        dealer_id: Annotated[uuid.UUID | None, QueryParameter(name="dealerId")] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[OrderOut]:
        """Every dealer's orders, filtered by status and dealer."""
        rows, next_cursor = await service.list_orders(
            db_session, status=status, dealer_id=dealer_id, cursor=cursor, limit=limit
        )
        return Page(items=[service.order_out(o) for o in rows], next_cursor=next_cursor)

    @get("/review", summary="Orders held for review")
    async def review(
        self, db_session: NamedDependency[AsyncSession], cursor: Cursor = None, limit: Limit = 50
    ) -> Page[OrderOut]:
        """Submitted orders waiting for HQ (amount above threshold, watch tier, diversion)."""
        rows, next_cursor = await service.list_orders(
            db_session, review=True, cursor=cursor, limit=limit
        )
        return Page(items=[service.order_out(o) for o in rows], next_cursor=next_cursor)

    @get("/{order_id:uuid}", summary="Get an order")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], order_id: FromPath[uuid.UUID]
    ) -> OrderOut:
        """One order with its lines, shipments and transition trail."""
        return service.order_out(await service.get_order(db_session, order_id))

    @post("/{order_id:uuid}/approve", summary="Approve an order", status_code=200)
    async def approve(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[CommentIn],
    ) -> OrderOut:
        """Approve a submitted order held for review (audited)."""
        order = await transitions.transition(
            db_session, principal, order_id, OrderStatus.APPROVED, utcnow(), data.comment
        )
        return service.order_out(order)

    @post("/{order_id:uuid}/reject", summary="Reject an order", status_code=200)
    async def reject(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[CommentIn],
    ) -> OrderOut:
        """Reject with a comment: the stock and funds held for it are released."""
        order = await transitions.transition(
            db_session, principal, order_id, OrderStatus.REJECTED, utcnow(), data.comment
        )
        return service.order_out(order)

    @post("/{order_id:uuid}/allocate", summary="Allocate an order", status_code=200)
    async def allocate(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
    ) -> OrderOut:
        """Confirm the warehouses reserved for an approved order: it goes to picking."""
        order = await transitions.transition(
            db_session, principal, order_id, OrderStatus.ALLOCATED, utcnow()
        )
        return service.order_out(order)

    @post(
        "/{order_id:uuid}/shipments",
        summary="Ship an order (partially)",
        status_code=201,
        opt={"problems": (409,)},
    )
    async def ship(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[ShipIn],
    ) -> OrderOut:
        """Ship some or all reserved goods with carrier and tracking; funds captured pro rata."""
        order = await transitions.ship(db_session, principal, order_id, data, utcnow())
        return service.order_out(order)

    @post("/{order_id:uuid}/complete", summary="Complete a received order", status_code=200)
    async def complete(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
    ) -> OrderOut:
        """Close a received order; funds still held (backorders never shipped) go back."""
        order = await transitions.transition(
            db_session, principal, order_id, OrderStatus.COMPLETED, utcnow()
        )
        return service.order_out(order)


class OrderSettingsController(Controller):
    path = "/hq/order-settings"
    tags = ("hq: orders",)
    guards = (requires_hq,)

    @get("/approval-threshold", summary="Order approval threshold")
    async def threshold(self, db_session: NamedDependency[AsyncSession]) -> ThresholdOut:
        """Orders with a payable above this (fen) wait for HQ review."""
        return ThresholdOut(approval_threshold=await service.approval_threshold(db_session))

    @put(
        "/approval-threshold",
        summary="Set the order approval threshold",
        guards=[requires_hq_admin],
    )
    async def set_threshold(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[ThresholdIn],
    ) -> ThresholdOut:
        """Set the payable (fen) above which orders wait for review (audited)."""
        return await service.set_approval_threshold(db_session, principal, data.approval_threshold)
