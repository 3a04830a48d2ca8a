"""Read the approval trail: filtered, newest first, paged by ``seq``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import BadRequest, Invalid
from server.messages import texts
from server.schemas import decode_cursor, encode_cursor
from server.trail.chain import GENESIS
from server.trail.models import DecisionChainHead, DecisionEntry


class DecisionSearch(msgspec.Struct, frozen=True, kw_only=True):
    """What to look for; every part is optional; ``until`` is exclusive."""

    document_type: str | None = None
    document_id: str | None = None
    actor_id: uuid.UUID | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _after(cursor: str) -> int:
    try:
        return int(decode_cursor(cursor) or "")
    except ValueError as exc:
        raise BadRequest("cursor_invalid", "分页游标无效", "Invalid page cursor") from exc


async def search_decisions(
    session: AsyncSession, search: DecisionSearch, *, cursor: str | None = None, limit: int = 50
) -> tuple[Sequence[DecisionEntry], str | None]:
    """Entries matching ``search``, newest first, and the next page's cursor."""
    if search.since is not None and search.until is not None and search.until <= search.since:
        text = texts("trail.range_invalid")
        raise Invalid(
            "time_range_invalid",
            text.zh,
            text.en,
            errors=[{"key": "until", "message": text.zh, "message_en": text.en}],
        )
    e = DecisionEntry
    where: list[ColumnElement[bool]] = []
    if search.document_type:
        where.append(e.document_type == search.document_type)
    if search.document_id:
        where.append(e.document_id == search.document_id)
    if search.actor_id is not None:
        where.append(e.actor_id == search.actor_id)
    if search.outcome:
        where.append(e.outcome == search.outcome)
    if search.since is not None:
        where.append(e.at >= search.since)
    if search.until is not None:
        where.append(e.at < search.until)
    if cursor:
        where.append(e.seq < _after(cursor))
    stmt = select(e).where(*where).order_by(e.seq.desc()).limit(limit + 1)
    rows = (await session.execute(stmt)).scalars().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(str(rows[-1].seq)) if more else None


async def chain_head(session: AsyncSession) -> tuple[int, str]:
    """The last entry's seq and hash (0 and 64 zeros before the first decision)."""
    row = (
        await session.execute(select(DecisionChainHead.seq, DecisionChainHead.entry_hash))
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)
