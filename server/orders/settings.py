"""Order settings: the payable above which a placed order waits for HQ review."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import record
from server.db.dialect import upsert
from server.identity.principal import Principal
from server.orders.models import OrderSettings
from server.orders.schemas import ThresholdOut
from server.trail import note_decision

DEFAULT_APPROVAL_THRESHOLD = 50_000_000  # fen: 500,000 yuan


async def approval_threshold(session: AsyncSession) -> int:
    """The review threshold in fen (the default until HQ sets one)."""
    row = await session.get(OrderSettings, 1)
    return DEFAULT_APPROVAL_THRESHOLD if row is None else row.approval_threshold


async def set_approval_threshold(
    session: AsyncSession, actor: Principal, value: int
) -> ThresholdOut:
    """HQ sets the payable above which orders wait for review (audited)."""
    await session.execute(upsert(session, OrderSettings, {"id": 1, "approval_threshold": value}))
    record(session, actor, "order_threshold.set", "order_settings", 1, {"value": value})
    # The rule every automatic approval applies: its changes are HQ's decisions.
    state = {"approvalThreshold": value}
    note_decision(session, actor, "order_settings", "approval_threshold", "set", state)
    return ThresholdOut(approval_threshold=value)
