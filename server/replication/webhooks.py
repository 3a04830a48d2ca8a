"""HQ's administration of ERP webhook endpoints: pause, resume, delete, replay, each audited.

The engine (``sync.webhooks``) knows no users; these wrap its calls with the audit record and
the server's error tree, for the HTTP API and the console alike.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.errors import NotFound
from server.identity.principal import Principal
from sync import delete_webhook, replay_webhook_delivery, set_webhook_active
from sync.errors import SyncNotFound


def _unknown_endpoint(endpoint_id: str) -> NotFound:
    return NotFound(
        "webhook_not_found",
        f"找不到 Webhook {endpoint_id}",
        f"No webhook endpoint {endpoint_id}",
    )


async def pause_webhook(session: AsyncSession, actor: Principal, endpoint_id: str) -> None:
    """Stop queuing and sending to the endpoint; what it has not received waits."""
    if not await set_webhook_active(session, endpoint_id, active=False):
        raise _unknown_endpoint(endpoint_id)
    record(session, actor, "webhook.paused", "webhook", endpoint_id)


async def resume_webhook(session: AsyncSession, actor: Principal, endpoint_id: str) -> None:
    """Deliver to the endpoint again, from where it stopped."""
    if not await set_webhook_active(session, endpoint_id, active=True):
        raise _unknown_endpoint(endpoint_id)
    record(session, actor, "webhook.resumed", "webhook", endpoint_id)


async def remove_webhook(session: AsyncSession, actor: Principal, endpoint_id: str) -> None:
    """Delete the endpoint, its delivery log and its node."""
    if not await delete_webhook(session, endpoint_id):
        raise _unknown_endpoint(endpoint_id)
    record(session, actor, "webhook.deleted", "webhook", endpoint_id)


async def replay_delivery(session: AsyncSession, actor: Principal, event_id: str) -> None:
    """Send a delivery again, under the same event id."""
    try:
        await replay_webhook_delivery(session, event_id)
    except SyncNotFound as exc:
        raise NotFound(
            "webhook_delivery_not_found",
            f"找不到 Webhook 投递记录 {event_id}",
            f"No webhook delivery {event_id}",
        ) from exc
    record(session, actor, "webhook.replayed", "webhook_delivery", event_id)
