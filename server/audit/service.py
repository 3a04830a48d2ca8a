"""Record audit events inside the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from structlog.contextvars import get_contextvars

from server.audit.models import AuditEvent
from server.db.batch import add_new


class Actor(Protocol):
    """Who acted, as audit needs it (``server.identity.Principal`` is one): audit sits below
    identity, so it names the shape instead of importing the type."""

    @property
    def user_id(self) -> uuid.UUID: ...

    @property
    def role(self) -> object: ...


def record(
    session: AsyncSession,
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: object,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit row; it commits or rolls back with the change it describes."""
    event = AuditEvent(
        actor_id=actor.user_id if actor else None,
        actor_role=str(actor.role) if actor else None,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        data=data or {},
        request_id=get_contextvars().get("request_id"),
    )
    add_new(session, event)
    return event
