"""The jobs that turn an event into WeChat subscription messages, each sent at most once.

``notifications.fanout`` (one per event) picks, for every WeChat-bound recipient, the first
active template for the event's kind the user still holds an authorization of, and writes one
``subscription_messages`` row per (event, user) with a ``notifications.send`` job for it; a
rerun finds the rows and jobs already there (unique keys) and adds nothing.

``notifications.send`` (one per message) has three steps, each its own transaction:

1. claim: under the message's row lock, a ``pending`` message consumes one authorization
   (``remaining - 1`` where ``remaining > 0``; none left: ``skipped``) and becomes
   ``sending``. A message found ``sending`` was being sent by a worker that died: WeChat may
   have it, so it becomes ``uncertain`` and is never sent again (at most once, not at least).
2. send, outside any transaction (fields reformatted by ``server.notifications.fields``).
3. record WeChat's answer by kind: ok ``sent``; 43101 ``skipped`` (the user has no
   authorization left: ours drops to 0); an answer proving WeChat did not take it (a rate
   limit 45009, a bad token still bad after one refresh, unreachable) puts the message back
   to ``pending``, returns the authorization and raises, so the job runner backs off and
   retries; a lost answer ``uncertain``; any other code ``failed``, recorded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.dialect import insert_ignoring_duplicates, is_postgresql
from server.db.engine import Database
from server.db.session import transaction
from server.identity import wechat_recipients
from server.jobs import JobRegistry, enqueue
from server.notifications.events import FANOUT_JOB, INLINE_INBOX
from server.notifications.fields import field_kind, field_value
from server.notifications.inbox import add_inbox_items, display_params
from server.notifications.models import (
    MessageStatus,
    NotificationEvent,
    SubscriptionGrant,
    SubscriptionMessage,
    SubscriptionTemplate,
)
from server.notifications.wechat import NotSent, OutcomeUnknown, SendAnswer, SubscribeSender

SEND_JOB = "notifications.send"
SEND_ATTEMPTS = 8
log = structlog.get_logger("channelhub.notifications")
RETRY = frozenset({45009, 40001, 42001, -1})
NO_AUTHORIZATION = 43101


class RetryLater(Exception):
    """WeChat did not take the message for now (rate limit, token, unreachable): back off."""


def _uuids(values: list[str]) -> list[uuid.UUID]:
    return [uuid.UUID(v) for v in values]


async def fan_out(session: AsyncSession, event_id: uuid.UUID) -> int:
    """Write one message (and its send job) per recipient holding an authorization, and the
    inbox items of an audience too large for the request; the number of messages."""
    event = await session.get(NotificationEvent, event_id)
    if event is None:
        return 0
    if len(event.dealer_ids) > INLINE_INBOX:  # too many for the request: their inbox here
        await add_inbox_items(session, event, _uuids(event.dealer_ids))
    recipients = await wechat_recipients(session, _uuids(event.dealer_ids), _uuids(event.user_ids))
    templates = (
        (
            await session.execute(
                select(SubscriptionTemplate.template_id)
                .where(SubscriptionTemplate.event_kind == event.kind, SubscriptionTemplate.active)
                .order_by(SubscriptionTemplate.created_at, SubscriptionTemplate.template_id)
            )
        )
        .scalars()
        .all()
    )
    if not recipients or not templates:
        return 0
    chosen = await _templates_held(session, [u for u, _ in recipients], list(templates))
    rows = [
        {
            "id": uuid.uuid4(),
            "event_id": event.id,
            "user_id": user_id,
            "openid": openid,
            "template_id": chosen[user_id],
            "status": MessageStatus.PENDING,
            "attempts": 0,
            "detail": "",
            "created_at": utcnow(),
        }
        for user_id, openid in recipients
        if user_id in chosen
    ]
    if rows:
        await session.execute(insert_ignoring_duplicates(session, SubscriptionMessage, rows))
    ids = (
        (
            await session.execute(
                select(SubscriptionMessage.id).where(SubscriptionMessage.event_id == event.id)
            )
        )
        .scalars()
        .all()
    )
    for message_id in ids:
        await enqueue(
            session,
            SEND_JOB,
            {"messageId": str(message_id)},
            dedupe_key=f"wxmsg:{message_id}",
            max_attempts=SEND_ATTEMPTS,
        )
    return len(ids)


async def _templates_held(
    session: AsyncSession, user_ids: list[uuid.UUID], templates: list[str]
) -> dict[uuid.UUID, str]:
    """Per user, the first of ``templates`` (in HQ's order) they hold an authorization of."""
    rows = await session.execute(
        select(SubscriptionGrant.user_id, SubscriptionGrant.template_id).where(
            SubscriptionGrant.user_id.in_(user_ids),
            SubscriptionGrant.template_id.in_(templates),
            SubscriptionGrant.remaining > 0,
        )
    )
    rank = {t: i for i, t in enumerate(templates)}
    chosen: dict[uuid.UUID, str] = {}
    for user_id, template_id in rows:
        if user_id not in chosen or rank[template_id] < rank[chosen[user_id]]:
            chosen[user_id] = template_id
    return chosen


@dataclass(frozen=True)
class Claimed:
    message_id: uuid.UUID
    user_id: uuid.UUID
    template_id: str
    body: dict[str, Any]


async def claim_message(
    session: AsyncSession, message_id: uuid.UUID, tz: ZoneInfo
) -> Claimed | None:
    """Step 1: a pending message takes one authorization and becomes ``sending``; one found
    ``sending`` (its worker died mid-send) becomes ``uncertain``; None: nothing to send."""
    query = select(SubscriptionMessage).where(SubscriptionMessage.id == message_id)
    if is_postgresql(session):
        query = query.with_for_update()
    message = (await session.execute(query)).scalar_one_or_none()
    if message is None or message.status not in (MessageStatus.PENDING, MessageStatus.SENDING):
        return None
    if message.status is MessageStatus.SENDING:
        message.status, message.detail = MessageStatus.UNCERTAIN, "worker_lost_during_send"
        return None
    template = (
        await session.execute(
            select(SubscriptionTemplate).where(
                SubscriptionTemplate.template_id == message.template_id
            )
        )
    ).scalar_one_or_none()
    if template is None or not template.active:
        message.status, message.detail = MessageStatus.SKIPPED, "template_inactive"
        return None
    if not await _consume(session, message.user_id, message.template_id):
        message.status, message.detail = MessageStatus.SKIPPED, "no_authorization"
        return None
    event = await session.get(NotificationEvent, message.event_id)
    assert event is not None
    message.status, message.attempts = MessageStatus.SENDING, message.attempts + 1
    body = {
        "touser": message.openid,
        "template_id": message.template_id,
        "page": template.page,
        "data": render_fields(template.fields, event.params, tz),
        "lang": "zh_CN",
    }
    return Claimed(message.id, message.user_id, message.template_id, body)


def render_fields(
    fields: list[dict[str, str]], params: dict[str, Any], tz: ZoneInfo
) -> dict[str, dict[str, str]]:
    """The template's ``data``: each field filled from its parameter by its kind's rule."""
    shown = display_params(params, "zh")
    data: dict[str, dict[str, str]] = {}
    for spec in fields:
        key, param = spec["key"], spec["param"]
        raw = (
            params.get(param) if field_kind(key) in ("amount", "date", "time") else shown.get(param)
        )
        data[key] = {"value": field_value(key, raw, tz)}
    return data


async def _consume(session: AsyncSession, user_id: uuid.UUID, template_id: str) -> bool:
    """Take one authorization (never below zero); False when none is left."""
    result = await session.execute(
        update(SubscriptionGrant)
        .where(
            SubscriptionGrant.user_id == user_id,
            SubscriptionGrant.template_id == template_id,
            SubscriptionGrant.remaining > 0,
        )
        .values(remaining=SubscriptionGrant.remaining - 1)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _set_grant(claimed: Claimed, remaining: Any) -> Any:
    return (
        update(SubscriptionGrant)
        .where(
            SubscriptionGrant.user_id == claimed.user_id,
            SubscriptionGrant.template_id == claimed.template_id,
        )
        .values(remaining=remaining)
    )


async def _record(
    session: AsyncSession, claimed: Claimed, answer: SendAnswer | None, error: str = ""
) -> bool:
    """Store the outcome; True when the message goes back to pending (to be retried)."""
    message = await session.get(SubscriptionMessage, claimed.message_id)
    assert message is not None
    if answer is not None and answer.errcode == 0:
        message.status, message.sent_at, message.errcode = MessageStatus.SENT, utcnow(), 0
        return False
    if answer is not None:
        message.errcode, error = answer.errcode, answer.errmsg
    message.detail = error[:200]
    if answer is None or answer.errcode in RETRY:
        # WeChat certainly did not take it: pending again, the authorization given back.
        message.status = MessageStatus.PENDING
        await session.execute(_set_grant(claimed, SubscriptionGrant.remaining + 1))
        return True
    if answer.errcode == NO_AUTHORIZATION:
        message.status = MessageStatus.SKIPPED
        await session.execute(_set_grant(claimed, 0))
    else:
        message.status = MessageStatus.FAILED
    return False


async def send_message(
    database: Database, sender: SubscribeSender, message_id: uuid.UUID, tz: ZoneInfo
) -> None:
    """Claim, send and record one message (see the module docstring); raises to back off."""
    async with transaction(database) as session:
        claimed = await claim_message(session, message_id, tz)
    if claimed is None:
        return
    answer: SendAnswer | None = None
    error = ""
    try:
        answer = await sender.send(claimed.body)
    except NotSent as exc:
        error = str(exc)
    except OutcomeUnknown as exc:
        async with transaction(database) as session:
            message = await session.get(SubscriptionMessage, message_id)
            assert message is not None
            message.status, message.detail = MessageStatus.UNCERTAIN, str(exc)[:200]
        return
    async with transaction(database) as session:
        retry = await _record(session, claimed, answer, error)
    if retry:
        raise RetryLater(f"message {message_id}: {answer.errcode if answer else error}")


def register_notification_jobs(registry: JobRegistry, sender: Any, timezone: str) -> None:
    """Register the fan-out and send jobs; ``sender()`` gives the process's SubscribeSender."""
    tz = ZoneInfo(timezone)

    async def fanout(database: Database, payload: dict[str, Any]) -> None:
        async with transaction(database) as session:
            await fan_out(session, uuid.UUID(payload["eventId"]))

    async def send(database: Database, payload: dict[str, Any]) -> None:
        await send_message(database, sender(), uuid.UUID(payload["messageId"]), tz)

    registry.register(FANOUT_JOB, fanout)
    registry.register(SEND_JOB, send)
