"""Overview: today's orders and amount, the review queues, the latest publications with their
delivery, the most lagging channel nodes; the figures follow the server's realtime pokes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import ServerSentEvent, ServerSentEventMessage, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.pages.delivery import publications
from console.render import page, yuan
from console.session import requires_console
from server.claims.queries import claims_in_review
from server.orders.stats import orders_in_review, orders_since
from sync import node_lags

HEARTBEAT_SECONDS = 20.0
COALESCE_SECONDS = 0.5


async def figures(db_session: AsyncSession, timezone: str) -> dict[str, str]:
    """The overview's figures as shown (today in the brand's time zone)."""
    zone = ZoneInfo(timezone)
    midnight = datetime.combine(datetime.now(zone).date(), time(), tzinfo=zone)
    count, amount = await orders_since(db_session, midnight)
    return {
        "today_orders": str(count),
        "today_amount": yuan(amount),
        "orders_waiting": str(await orders_in_review(db_session)),
        "claims_waiting": str(await claims_in_review(db_session)),
    }


@get("/", guards=[requires_console])
async def overview(
    request: Request[Any, Any, Any], state: State, db_session: NamedDependency[AsyncSession]
) -> Template:
    """The day at a glance."""
    return page(
        request,
        "overview.html",
        figures=await figures(db_session, state.settings.timezone),
        lagging=await node_lags(db_session, only_lagging=True, limit=10),
        publications=await publications(db_session, limit=5, laggards=0),
    )


@get("/live", guards=[requires_console])
async def live(state: State) -> ServerSentEvent:
    """The overview's figures again whenever the realtime channel pokes (server-sent events)."""
    return ServerSentEvent(_figure_events(state))


async def _figure_events(state: State) -> AsyncIterator[ServerSentEventMessage]:
    wake = asyncio.Event()
    stop = state.hub.listen(lambda _pokes: wake.set())
    last: dict[str, str] | None = None
    try:
        while True:
            async with state.database.session(write=False) as db_session:
                now = await figures(db_session, state.settings.timezone)
            if now != last:
                yield ServerSentEventMessage(
                    event="figures", data=msgspec.json.encode(now).decode()
                )
                last = now
            try:
                await asyncio.wait_for(wake.wait(), timeout=HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ServerSentEventMessage(comment="keep-alive")
            wake.clear()
            await asyncio.sleep(COALESCE_SECONDS)  # one refresh for a burst of pokes
    finally:
        stop()


HANDLERS = (overview, live)
