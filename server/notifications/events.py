"""``notify``: the one entry point every domain calls when something a dealer or rep should
hear of happened.

It runs in the caller's transaction: the event row (one per ``(kind, key)``, so telling twice
is a no-op), one inbox item per dealer (published to ``dealer:{id}`` before the commit; for
more than ``INLINE_INBOX`` dealers the fan-out job writes them), and a ``notifications.fanout``
job that, after the commit, picks the WeChat users who accepted a template for the kind and
queues one message each.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.engine import Database
from server.db.errors import DuplicateKey, duplicate_keys_raised
from server.jobs import enqueue
from server.notifications.inbox import add_inbox_items
from server.notifications.kinds import PARAMS, EventKind
from server.notifications.models import NotificationEvent

FANOUT_JOB = "notifications.fanout"
INLINE_INBOX = 200
"""Up to this many dealers get their inbox items in the caller's transaction; beyond, the
fan-out job writes them (a notice to every dealer must not hold a request for seconds)."""
_NOTED = "notifications.noted"
ParamValue = str | int | datetime | None


def _stored(params: Mapping[str, ParamValue], kind: EventKind) -> dict[str, str | int | None]:
    unknown = set(params) - set(PARAMS[kind])
    if unknown:
        raise ValueError(f"{kind} has no parameters {sorted(unknown)}")
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in params.items()}


async def notify(
    session: AsyncSession,
    kind: EventKind,
    key: str,
    *,
    dealer_ids: Iterable[uuid.UUID] = (),
    user_ids: Iterable[uuid.UUID] = (),
    params: Mapping[str, ParamValue] | None = None,
) -> uuid.UUID | None:
    """Tell dealers (inbox + their users' WeChat) and users (WeChat) of an event; None if told."""
    dealers = sorted(set(dealer_ids), key=str)
    users = sorted(set(user_ids), key=str)
    event = NotificationEvent(
        id=uuid.uuid4(),
        kind=str(kind),
        key=key[:128],
        params=_stored(params or {}, kind),
        dealer_ids=[str(d) for d in dealers],
        user_ids=[str(u) for u in users],
    )
    try:
        with duplicate_keys_raised():
            async with session.begin_nested():
                session.add(event)
                await session.flush()
    except DuplicateKey:
        return None
    if len(dealers) <= INLINE_INBOX:
        await add_inbox_items(session, event, dealers)
    if dealers or users:
        await enqueue(
            session, FANOUT_JOB, {"eventId": str(event.id)}, dedupe_key=f"notify:{event.id}"
        )
    return event.id


def note_event(
    session: AsyncSession,
    kind: EventKind,
    key: str,
    *,
    dealer_ids: Iterable[uuid.UUID] = (),
    user_ids: Iterable[uuid.UUID] = (),
    params: Mapping[str, ParamValue] | None = None,
) -> None:
    """``notify`` for code that cannot await: told by the pre-commit hook, dropped on rollback."""
    stored = _stored(params or {}, kind)  # a wrong parameter fails here, where it was given
    noted: list[Any] = session.info.setdefault(_NOTED, [])
    noted.append((kind, key, tuple(dealer_ids), tuple(user_ids), stored))


async def notify_noted(session: AsyncSession) -> None:
    """Tell the events noted in this transaction (pre-commit hook)."""
    for kind, key, dealer_ids, user_ids, params in session.info.pop(_NOTED, []):
        await notify(session, kind, key, dealer_ids=dealer_ids, user_ids=user_ids, params=params)


def discard_noted(session: AsyncSession) -> None:
    session.info.pop(_NOTED, None)


def install_notifications(database: Database) -> None:
    """Tell noted events before every commit of ``database`` (idempotent; before the trail)."""
    if notify_noted not in database.before_commit:
        database.before_commit.append(notify_noted)
        database.on_rollback.append(discard_noted)
