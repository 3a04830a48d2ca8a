"""A return's state and money, published to its dealer's scope in the same transaction."""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from server.returns.models import ReturnRequest
from server.returns.presenter import return_out
from sync import publish


async def publish_return(session: AsyncSession, ret: ReturnRequest) -> None:
    """Send the return (state, lines, money, explanation) to ``dealer:{id}``."""
    ret.version += 1
    await session.flush()
    payload = msgspec.to_builtins(return_out(ret))
    await publish(session, f"dealer:{ret.dealer_id}", "return", str(ret.id), "upsert", payload)
