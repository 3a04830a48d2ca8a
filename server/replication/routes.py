"""HQ's view of delivery: which nodes have a publication, which lag; ERP webhook endpoints."""

from __future__ import annotations

import enum
import secrets
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.identity.guards import requires_hq, requires_hq_admin
from server.identity.principal import Principal
from server.redaction import remember
from server.replication import webhooks
from server.schemas import Request, Response, path_text
from server.text import LINE_RULE, one_line
from sync import (
    NodeLag,
    PublicationStatus,
    WebhookDelivery,
    WebhookEndpoint,
    node_lags,
    publication_status,
    register_webhook,
    webhook_deliveries,
    webhook_endpoints,
)

EndpointId = Annotated[str, path_text(64)]


class DeliveryStatus(enum.StrEnum):
    """A webhook delivery's state, as the delivery log filters it."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


Scope = Annotated[str, one_line(128, pattern=r"^[a-z]+(:[A-Za-z0-9_.-]+)+$")]


class WebhookCreate(Request, kw_only=True):
    url: Annotated[str, one_line(512, pattern=r"^https?://[^\s]{3,500}$")]
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=100)]
    secret: Annotated[str, one_line(128, min_length=16)] | None = None


class WebhookOut(Response, kw_only=True):
    endpoint_id: str
    url: str
    scopes: list[str]
    secret: str


class SyncAdminController(Controller):
    path = "/hq/sync"
    tags = ["hq: sync"]
    guards = [requires_hq]

    @get("/publications/{scope_name:str}/{version:int}", summary="Delivery of one publication")
    async def publication(
        self,
        db_session: NamedDependency[AsyncSession],
        scope_name: Annotated[str, path_text(200)],
        version: Annotated[int, PathParameter(ge=0, le=2**53)],
    ) -> PublicationStatus:
        """How many nodes subscribed to the scope have acknowledged this version, and who lags."""
        return await publication_status(db_session, scope_name, version)

    @get("/nodes", summary="Channel nodes and their lag")
    async def nodes(
        self,
        db_session: NamedDependency[AsyncSession],
        scope_name: Annotated[
            str | None, QueryParameter(name="scopeName", max_length=128, pattern=LINE_RULE)
        ] = None,
        lagging: Annotated[bool, QueryParameter()] = False,
    ) -> list[NodeLag]:
        """Every node's acknowledged version per scope, most behind first."""
        return await node_lags(db_session, scope=scope_name, only_lagging=lagging)

    @post("/webhooks", summary="Register a dealer ERP webhook", guards=[requires_hq_admin])
    async def register(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[WebhookCreate],
    ) -> WebhookOut:
        """An ERP endpoint that receives the scopes' changes, HMAC-SHA256 signed."""
        secret = data.secret or secrets.token_urlsafe(32)
        remember([secret])
        endpoint_id = await register_webhook(
            db_session, url=data.url, secret=secret, scopes=data.scopes
        )
        record(
            db_session, principal, "webhook.registered", "webhook", endpoint_id, {"url": data.url}
        )
        return WebhookOut(
            endpoint_id=endpoint_id, url=data.url, scopes=sorted(set(data.scopes)), secret=secret
        )

    @post(
        "/webhooks/deliveries/{event_id:str}/replay",
        summary="Replay a webhook delivery",
        status_code=204,
        guards=[requires_hq_admin],
    )
    async def replay(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        event_id: Annotated[str, path_text(64)],
    ) -> None:
        """Send a delivered or dead-lettered event again, under the same event id."""
        await webhooks.replay_delivery(db_session, principal, event_id)

    @get("/webhooks", summary="List webhook endpoints")
    async def list_webhooks(
        self, db_session: NamedDependency[AsyncSession]
    ) -> list[WebhookEndpoint]:
        """Every endpoint (without its secret), active or paused, with pending and dead counts."""
        return await webhook_endpoints(db_session)

    @get("/webhooks/deliveries", summary="The webhook delivery log")
    async def deliveries(
        self,
        db_session: NamedDependency[AsyncSession],
        endpoint_id: Annotated[
            str | None, QueryParameter(name="endpointId", max_length=64, pattern=LINE_RULE)
        ] = None,
        status: FromQuery[DeliveryStatus | None] = None,
    ) -> list[WebhookDelivery]:
        """The latest 100 deliveries, newest first: status, attempts, next retry, last error."""
        return await webhook_deliveries(
            db_session, endpoint_id=endpoint_id, status=str(status) if status else None
        )

    @post(
        "/webhooks/{endpoint_id:str}/pause",
        summary="Pause a webhook endpoint",
        status_code=204,
        guards=[requires_hq_admin],
    )
    async def pause(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        endpoint_id: EndpointId,
    ) -> None:
        """Queue and send nothing to the endpoint until it is resumed."""
        await webhooks.pause_webhook(db_session, principal, endpoint_id)

    @post(
        "/webhooks/{endpoint_id:str}/resume",
        summary="Resume a webhook endpoint",
        status_code=204,
        guards=[requires_hq_admin],
    )
    async def resume(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        endpoint_id: EndpointId,
    ) -> None:
        """Deliver to the endpoint again, from where it stopped."""
        await webhooks.resume_webhook(db_session, principal, endpoint_id)

    @delete(
        "/webhooks/{endpoint_id:str}",
        summary="Delete a webhook endpoint",
        status_code=204,
        guards=[requires_hq_admin],
    )
    async def remove(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        endpoint_id: EndpointId,
    ) -> None:
        """Remove the endpoint with its delivery log and its channel node."""
        await webhooks.remove_webhook(db_session, principal, endpoint_id)
