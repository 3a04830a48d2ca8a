"""200 concurrent return requests against one order's lines never return more than shipped
(PostgreSQL, real commits: each request in a transaction of its own)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from server.db.base import utcnow
from server.db.engine import Database
from server.db.scoping import scope_to_dealer
from server.db.session import transaction
from server.errors import ChannelhubError
from server.returns import create_return
from server.returns.models import ReturnLine, ReturnRequest
from server.returns.schemas import ReturnCreate, ReturnLineIn
from server.settings import Settings
from tests.returns.conftest import Shipped, storage_of

REQUESTS = 200


async def _request(
    database: Database, settings: Settings, shipped: Shipped, lines: list[tuple[int, int]]
) -> str:
    body = ReturnCreate(
        id=uuid.uuid4(),
        order_id=shipped.order_id,
        lines=[ReturnLineIn(line=n, qty=q) for n, q in lines],
        reason="damaged",  # type: ignore[arg-type]
    )
    try:
        async with transaction(database) as s:
            scope_to_dealer(s, shipped.shop.dealer.id)
            await create_return(s, storage_of(settings), shipped.shop.actor, body, utcnow())
    except ChannelhubError as exc:
        return exc.code
    return "created"


async def test_concurrent_requests_never_return_more_than_shipped(
    backend: str, settings: Settings, db: Database, shipped: Shipped
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): no race to test")
    # 10 W-550 and 2 TEA shipped; requests of 1 W-550, 1 TEA, or one of each, race.
    shapes = [[(0, 1)], [(1, 1)], [(0, 1), (1, 1)]]
    databases = [Database(settings.database) for _ in range(4)]
    try:
        outcomes = await asyncio.gather(
            *(_request(databases[i % 4], settings, shipped, shapes[i % 3]) for i in range(REQUESTS))
        )
    finally:
        for d in databases:
            await d.dispose()
    assert set(outcomes) <= {"created", "return_exceeds_shipped"}, set(outcomes)
    async with db.session() as s:
        rows = await s.execute(
            select(ReturnLine.order_line, func.sum(ReturnLine.qty)).group_by(ReturnLine.order_line)
        )
        returned = {int(line): int(qty) for line, qty in rows}
        count = await s.scalar(select(func.count()).select_from(ReturnRequest))
    # Every unit shipped is returned exactly once, and no more.
    assert returned == {0: 10, 1: 2}
    assert outcomes.count("created") == count
