"""Audit: the trail of decisions, newest first, searchable by who (username), what (the
action or an entity's id) and when (days in the brand's time zone), paged."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.params import QueryCode, QueryText
from console.render import page
from console.session import requires_console
from server.audit import AuditSearch, search_audit
from server.errors import Invalid
from server.identity.service import user_id_by_username, user_labels

PAGE_SIZE = 50
ACTIONS = (
    "order.",
    "claim.",
    "promotion.",
    "price_list.",
    "dealer.",
    "account.",
    "webhook.",
    "user.",
)
"""Suggestions for the 'what' field (any action prefix may be typed)."""
LINKS = {
    "promotion": "/console/promotions/{}",
    "order": "/console/orders/{}",
    "claim": "/console/claims/{}",
    "dealer": "/console/dealers/{}",
    "price_list": "/console/price-lists/{}",
}
"""Entities that have a console page."""


def _day(text: str, zone: ZoneInfo, *, end: bool) -> datetime | None:
    """A day typed in the form as the UTC moment it starts (or, for ``end``, the next day's)."""
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid("date_invalid", "日期格式应为 YYYY-MM-DD", "Dates are YYYY-MM-DD") from None
    if not date(2000, 1, 1) <= day <= date(2099, 12, 31):
        raise Invalid(
            "date_invalid", "日期超出范围（2000–2099 年）", "Dates must fall in 2000-2099"
        )
    return datetime.combine(day + timedelta(days=1 if end else 0), time(), zone)


@get("/audit", guards=[requires_console])
async def audit(
    request: Request[Any, Any, Any],
    state: State,
    db_session: NamedDependency[AsyncSession],
    who: QueryCode = "",
    what: QueryCode = "",
    entity_id: QueryCode = "",
    since: QueryCode = "",
    until: QueryCode = "",
    cursor: QueryText = "",
) -> Template:
    """Decisions matching the search, newest first, 50 a page."""
    zone = ZoneInfo(state.settings.timezone)
    actor_id = None
    if who.strip():
        # An unknown username matches nobody (never everybody).
        actor_id = await user_id_by_username(db_session, who) or uuid.UUID(int=0)
    search = AuditSearch(
        actor_id=actor_id,
        action=what.strip() or None,
        entity_id=entity_id.strip() or None,
        since=_day(since, zone, end=False),
        until=_day(until, zone, end=True),
    )
    entries, next_cursor = await search_audit(
        db_session, search, cursor=cursor or None, limit=PAGE_SIZE
    )
    form = {"who": who, "what": what, "entity_id": entity_id, "since": since, "until": until}
    return page(
        request,
        "audit.html",
        entries=entries,
        users=await user_labels(db_session, (e.actor_id for e in entries if e.actor_id)),
        links=LINKS,
        actions=ACTIONS,
        next_cursor=next_cursor,
        form=form,
    )


HANDLERS = (audit,)
