"""The in-app inbox: one item per event and dealer, in the dealer's sync scope with read state.

Every change (a new item, an item read) is published to ``dealer:{id}`` in the caller's
transaction, so devices learn of it by pull and poke; read state only moves unread -> read.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.errors import BadRequest
from server.messages import Language, render, yuan
from server.notifications.kinds import AMOUNT_PARAMS
from server.notifications.models import InboxItem, NotificationEvent
from server.schemas import decode_cursor, encode_cursor
from sync import publish

ENTITY = "inbox"


def display_params(params: Mapping[str, Any], language: Language) -> dict[str, str]:
    """Parameters as a person reads them: amounts in yuan, the status in words."""
    shown: dict[str, str] = {}
    for name, value in params.items():
        if name in AMOUNT_PARAMS and isinstance(value, int):
            shown[name] = yuan(value)
        elif name == "status" and value:
            shown[name] = render(f"notify.status.{value}", language)
        else:
            shown[name] = "" if value is None else str(value)
    return shown


def inbox_payload(item: InboxItem) -> dict[str, Any]:
    """What devices hold of an inbox item (camelCase, both languages)."""
    return {
        "id": str(item.id),
        "kind": item.kind,
        "title": {"zh": item.title_zh, "en": item.title_en},
        "body": {"zh": item.body_zh, "en": item.body_en},
        "params": item.params,
        "createdAt": item.created_at.isoformat(),
        "readAt": item.read_at.isoformat() if item.read_at else None,
        "readBy": str(item.read_by) if item.read_by else None,
    }


def _texts(kind: str, params: Mapping[str, Any]) -> tuple[str, str, str, str]:
    zh, en = display_params(params, "zh"), display_params(params, "en")
    return (
        render(f"notify.{kind}.title", "zh", **zh)[:200],
        render(f"notify.{kind}.title", "en", **en)[:200],
        render(f"notify.{kind}.body", "zh", **zh).strip(),
        render(f"notify.{kind}.body", "en", **en).strip(),
    )


async def add_inbox_items(
    session: AsyncSession, event: NotificationEvent, dealer_ids: Sequence[uuid.UUID]
) -> None:
    """One inbox item per dealer for ``event`` (none twice), published to each dealer's scope."""
    if not dealer_ids:
        return
    title_zh, title_en, body_zh, body_en = _texts(event.kind, event.params)
    have = set(
        (
            await session.execute(
                select(InboxItem.dealer_id).where(
                    InboxItem.event_id == event.id, InboxItem.dealer_id.in_(list(dealer_ids))
                )
            )
        ).scalars()
    )
    for dealer_id in dealer_ids:
        if dealer_id in have:
            continue
        item = InboxItem(
            id=uuid.uuid4(),
            dealer_id=dealer_id,
            event_id=event.id,
            kind=event.kind,
            title_zh=title_zh,
            title_en=title_en,
            body_zh=body_zh,
            body_en=body_en,
            params=event.params,
            created_at=utcnow(),
        )
        session.add(item)
        await publish(
            session, f"dealer:{dealer_id}", ENTITY, str(item.id), "upsert", inbox_payload(item)
        )
    await session.flush()


async def list_inbox(
    session: AsyncSession,
    dealer_id: uuid.UUID,
    *,
    unread_only: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[InboxItem], str | None]:
    """The dealer's inbox, newest first, paged by an opaque cursor."""
    query = select(InboxItem).where(InboxItem.dealer_id == dealer_id)
    if unread_only:
        query = query.where(InboxItem.read_at.is_(None))
    after = _cursor(cursor)
    if after is not None:
        at, item_id = after
        query = query.where(
            (InboxItem.created_at < at) | ((InboxItem.created_at == at) & (InboxItem.id < item_id))
        )
    query = query.order_by(InboxItem.created_at.desc(), InboxItem.id.desc()).limit(limit + 1)
    rows = list((await session.execute(query)).scalars())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(f"{last.created_at.isoformat()}|{last.id}")


def _cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    text = decode_cursor(cursor)
    if text is None:
        return None
    try:
        at, _, item_id = text.partition("|")
        return datetime.fromisoformat(at), uuid.UUID(item_id)
    except ValueError as exc:
        raise BadRequest("cursor_invalid", "分页游标无效", "Invalid page cursor") from exc


async def unread_count(session: AsyncSession, dealer_id: uuid.UUID) -> int:
    """How many of the dealer's inbox items nobody has read."""
    query = (
        select(func.count())
        .select_from(InboxItem)
        .where(InboxItem.dealer_id == dealer_id, InboxItem.read_at.is_(None))
    )
    return int((await session.execute(query)).scalar_one())


async def mark_read(
    session: AsyncSession, dealer_id: uuid.UUID, user_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[InboxItem]:
    """Mark the dealer's items read (already read ones keep their first reader); publish each."""
    if not ids:
        return []
    now = utcnow()
    newly = (
        (
            await session.execute(
                update(InboxItem)
                .where(
                    InboxItem.dealer_id == dealer_id,
                    InboxItem.id.in_(list(ids)),
                    InboxItem.read_at.is_(None),
                )
                .values(read_at=now, read_by=user_id)
                .returning(InboxItem.id)
            )
        )
        .scalars()
        .all()
    )
    items = list(
        (
            await session.execute(
                select(InboxItem)
                .where(InboxItem.dealer_id == dealer_id, InboxItem.id.in_(list(ids)))
                .execution_options(populate_existing=True)
            )
        ).scalars()
    )
    fresh = set(newly)
    for item in items:
        if item.id in fresh:
            await publish(
                session, f"dealer:{dealer_id}", ENTITY, str(item.id), "upsert", inbox_payload(item)
            )
    return items
