"""What dealers see of announcements, their reads, and HQ's view of who has read each one.

A dealer sees an announcement that is published, not expired and for it (its tier, one of
its regions or their ancestors, or itself by name). A read is recorded once per user (a
repeat answers the first); it is published to the dealer's sync scope as
``announcement_read`` so the dealer's other devices learn of it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.announcements.audience import audience_of, reaches
from server.announcements.models import Announcement, AnnouncementRead, AnnouncementStatus
from server.announcements.schemas import DealerReadOut, ReadOut, ReadReportOut
from server.announcements.service import get_announcement, is_expired
from server.db.dialect import insert_ignoring_duplicates
from server.dealers import dealer_labels, dealer_pricing_facts
from server.errors import Conflict, Forbidden, NotFound
from server.identity.principal import Principal
from sync import publish


def _dealer(actor: Principal) -> uuid.UUID:
    if actor.dealer_id is None:
        raise Forbidden(
            "dealer_required", "仅经销商可以查看公告", "Only dealers read announcements"
        )
    return actor.dealer_id


async def my_reads(session: AsyncSession, user_id: uuid.UUID) -> dict[uuid.UUID, datetime]:
    rows = await session.execute(
        select(AnnouncementRead.announcement_id, AnnouncementRead.read_at).where(
            AnnouncementRead.user_id == user_id
        )
    )
    return {r.announcement_id: r.read_at for r in rows}


async def dealer_announcements(
    session: AsyncSession, actor: Principal, now: datetime
) -> list[tuple[Announcement, datetime | None]]:
    """The announcements for the caller's dealer, pinned first then newest, with its read time."""
    facts = await dealer_pricing_facts(session, _dealer(actor))
    stmt = (
        select(Announcement)
        .where(
            Announcement.status == AnnouncementStatus.PUBLISHED,
            or_(Announcement.expires_at.is_(None), Announcement.expires_at > now),
        )
        .order_by(Announcement.pinned.desc(), Announcement.published_at.desc())
    )
    rows = (await session.execute(stmt)).scalars().all()
    reads = await my_reads(session, actor.user_id)
    return [(a, reads.get(a.id)) for a in rows if reaches(a, facts)]


async def dealer_announcement(
    session: AsyncSession,
    actor: Principal,
    announcement_id: uuid.UUID,
    now: datetime,
    *,
    history: bool = False,
) -> Announcement:
    """One announcement for the caller's dealer: 404 unless published to it, 409 once expired
    (with ``history``, for its trail: once published to it, withdrawn and expired ones too)."""
    facts = await dealer_pricing_facts(session, _dealer(actor))
    a = await get_announcement(session, announcement_id)
    live = a.status is AnnouncementStatus.PUBLISHED
    was_sent = a.published_at is not None  # a draft withdrawn unsent never reached anyone
    if not (live or (history and was_sent)) or not reaches(a, facts):
        raise NotFound("announcement_not_found")
    if is_expired(a, now) and not history:
        raise Conflict("announcement_expired", "公告已过期", "The announcement has expired")
    return a


async def mark_read(
    session: AsyncSession, actor: Principal, announcement_id: uuid.UUID, now: datetime
) -> ReadOut:
    """Record that the caller read it (a repeat answers the first read)."""
    a = await dealer_announcement(session, actor, announcement_id, now)
    dealer_id = _dealer(actor)
    row = {"announcement_id": a.id, "dealer_id": dealer_id, "user_id": actor.user_id}
    insert = insert_ignoring_duplicates(session, AnnouncementRead, [{**row, "read_at": now}])
    inserted = (await session.execute(insert.returning(AnnouncementRead.user_id))).first()
    read_at = now if inserted else (await my_reads(session, actor.user_id))[a.id]
    out = ReadOut(announcement_id=a.id, user_id=actor.user_id, read_at=read_at)
    if inserted:  # the first read (of concurrent ones, the one that inserted): publish it once
        key = f"{a.id}:{actor.user_id}"
        payload = msgspec.to_builtins(out)
        await publish(session, f"dealer:{dealer_id}", "announcement_read", key, "upsert", payload)
    return out


async def _reads_by_dealer(
    session: AsyncSession, announcement_id: uuid.UUID
) -> dict[uuid.UUID, list[datetime]]:
    rows = await session.execute(
        select(AnnouncementRead.dealer_id, AnnouncementRead.read_at).where(
            AnnouncementRead.announcement_id == announcement_id
        )
    )
    out: dict[uuid.UUID, list[datetime]] = {}
    for r in rows:
        out.setdefault(r.dealer_id, []).append(r.read_at)
    return out


async def read_report(session: AsyncSession, announcement_id: uuid.UUID) -> ReadReportOut:
    """Every active dealer the announcement is for (and any other that read it), read first."""
    a = await get_announcement(session, announcement_id)
    audience = await audience_of(session, a)
    reads = await _reads_by_dealer(session, a.id)
    labels = await dealer_labels(session, audience | set(reads))
    dealers = [
        DealerReadOut(
            dealer_id=d,
            dealer_code=labels.get(d, ("", ""))[0],
            dealer_name=labels.get(d, ("", ""))[1],
            first_read_at=min(reads[d]) if d in reads else None,
            readers=len(reads.get(d, ())),
        )
        for d in audience | set(reads)
    ]
    dealers.sort(key=_read_order)
    return ReadReportOut(
        announcement_id=a.id,
        audience_size=len(audience),
        read_count=sum(1 for d in dealers if d.readers),
        dealers=dealers,
    )


def _read_order(d: DealerReadOut) -> tuple[bool, str, str]:
    return (
        d.first_read_at is None,
        d.first_read_at.isoformat() if d.first_read_at else "",
        d.dealer_code,
    )
