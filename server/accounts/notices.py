"""What a dealer is told of its funds (``server.notifications``): credit running low.

A hold that takes the dealer's available credit from at or above ``LOW_SHARE_BP`` of its limit
to below it tells the dealer once (per hold reference); holds that stay below say nothing more
until credit recovers above the line and crosses it again.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.notifications import EventKind, note_event

LOW_SHARE_BP = 1_000
"""Credit is running low below 10 % of the limit."""


def note_credit_running_low(
    session: AsyncSession,
    dealer_id: uuid.UUID,
    reference: str,
    *,
    limit: int,
    available_before: int,
    taken: int,
) -> None:
    """Tell the dealer (at commit) when this hold takes its available credit below the line."""
    if taken <= 0 or limit <= 0:
        return
    line = limit * LOW_SHARE_BP // 10_000
    after = available_before - taken
    if available_before >= line > after:
        note_event(
            session,
            EventKind.CREDIT_LOW,
            f"{dealer_id}:{reference}",
            dealer_ids=[dealer_id],
            params={"available": after, "limit": limit, "status": "low", "at": utcnow()},
        )
