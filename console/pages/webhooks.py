"""Webhooks: the dealer ERP endpoints (pause, resume, delete) and the delivery log (status,
attempts, next retry) with a replay button. Changes are the API's: admins only, audited."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.params import Code, QueryCode
from console.render import page
from console.session import requires_console
from server.identity.guards import requires_hq_admin
from server.identity.principal import Principal
from server.replication import pause_webhook, remove_webhook, replay_delivery, resume_webhook
from sync import webhook_deliveries, webhook_endpoints

STATUSES = ("pending", "delivered", "dead")
ADMIN = [requires_console, requires_hq_admin]


@get("/webhooks", guards=[requires_console])
async def webhooks(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    endpoint: QueryCode = "",
    status: QueryCode = "",
    done: QueryCode = "",
) -> Template:
    """The endpoints, then the latest deliveries (of one endpoint or status, if chosen)."""
    chosen = status if status in STATUSES else None
    return page(
        request,
        "webhooks.html",
        endpoints=await webhook_endpoints(db_session),
        deliveries=await webhook_deliveries(
            db_session, endpoint_id=endpoint or None, status=chosen, limit=100
        ),
        statuses=STATUSES,
        form={"endpoint": endpoint, "status": chosen or ""},
        done=done,
    )


@post("/webhooks/{endpoint_id:str}/pause", guards=ADMIN)
async def pause(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    endpoint_id: Code,
) -> Redirect:
    """Queue and send nothing to the endpoint until it is resumed."""
    await pause_webhook(db_session, principal, endpoint_id)
    return Redirect("/console/webhooks?done=paused", status_code=303)


@post("/webhooks/{endpoint_id:str}/resume", guards=ADMIN)
async def resume(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    endpoint_id: Code,
) -> Redirect:
    """Deliver to the endpoint again, from where it stopped."""
    await resume_webhook(db_session, principal, endpoint_id)
    return Redirect("/console/webhooks?done=resumed", status_code=303)


@post("/webhooks/{endpoint_id:str}/delete", guards=ADMIN)
async def remove(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    endpoint_id: Code,
) -> Redirect:
    """Delete the endpoint with its delivery log."""
    await remove_webhook(db_session, principal, endpoint_id)
    return Redirect("/console/webhooks?done=deleted", status_code=303)


@post("/webhooks/deliveries/{event_id:str}/replay", guards=ADMIN)
async def replay(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    event_id: Code,
) -> Redirect:
    """Send the delivery again, under the same event id."""
    await replay_delivery(db_session, principal, event_id)
    return Redirect("/console/webhooks?done=replayed", status_code=303)


HANDLERS = (webhooks, pause, resume, remove, replay)
