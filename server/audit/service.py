"""Record audit events inside the caller's transaction; search the trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

import msgspec
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.contextvars import get_contextvars

from server.audit.models import AuditEvent
from server.db.batch import add_new
from server.errors import BadRequest
from server.schemas import decode_cursor, encode_cursor


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


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded decision: who (user and role), what (action on an entity), when."""

    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    actor_role: str | None
    action: str
    entity: str
    entity_id: str
    data: dict[str, Any]
    request_id: str | None


class AuditSearch(msgspec.Struct, frozen=True, kw_only=True):
    """What to look for; every part is optional. ``action`` matches a prefix
    (``promotion.`` finds every promotion decision); ``until`` is exclusive."""

    actor_id: uuid.UUID | None = None
    action: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _cursor_of(entry: AuditEntry) -> str:
    return encode_cursor(f"{entry.at.isoformat()}|{entry.id}")


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    raw = decode_cursor(cursor) or ""
    try:
        at, _, entry_id = raw.partition("|")
        return datetime.fromisoformat(at), uuid.UUID(entry_id)
    except ValueError as exc:
        raise BadRequest("cursor_invalid", "分页游标无效", "Invalid page cursor") from exc


async def search_audit(
    session: AsyncSession, search: AuditSearch, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[AuditEntry], str | None]:
    """The trail newest first, filtered by who, what and when; and the next page's cursor."""
    e = AuditEvent
    where: list[ColumnElement[bool]] = []
    if search.actor_id is not None:
        where.append(e.actor_id == search.actor_id)
    if search.action:
        where.append(e.action.startswith(search.action, autoescape=True))
    if search.entity:
        where.append(e.entity == search.entity)
    if search.entity_id:
        where.append(e.entity_id == search.entity_id)
    if search.since is not None:
        where.append(e.at >= search.since)
    if search.until is not None:
        where.append(e.at < search.until)
    if cursor:
        at, entry_id = _after(cursor)
        where.append(or_(e.at < at, and_(e.at == at, e.id < entry_id)))
    rows = (
        (
            await session.execute(
                select(e).where(*where).order_by(e.at.desc(), e.id.desc()).limit(limit + 1)
            )
        )
        .scalars()
        .all()
    )
    entries = [
        AuditEntry(
            id=r.id,
            at=r.at,
            actor_id=r.actor_id,
            actor_role=r.actor_role,
            action=r.action,
            entity=r.entity,
            entity_id=r.entity_id,
            data=dict(r.data or {}),
            request_id=r.request_id,
        )
        for r in rows[:limit]
    ]
    return entries, _cursor_of(entries[-1]) if len(rows) > limit else None
