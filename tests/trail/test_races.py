"""Concurrent decisions on real PostgreSQL never fork the approval trail.

Separate sessions commit for real, started together; each takes its own row locks (a
dealer's credit accounts) and then the chain head. On SQLite writers are serial (BEGIN
IMMEDIATE): no race to test there.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from server.accounts.funds import set_credit_limit
from server.db.engine import Database
from server.db.session import transaction
from server.identity.models import Role
from server.identity.principal import Principal
from server.settings import DatabaseSettings, Settings
from server.trail import TRAIL_SCOPE, install_trail, verify_trail
from server.trail.models import DecisionEntry
from sync.tables import sync_change
from tests.factories import bearer, make_dealer, make_user


async def test_fifty_concurrent_decisions_make_one_linear_chain(
    backend: str, settings: Settings, db: Database, client: AsyncTestClient[Litestar]
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): no race to test")
    dealers = [await make_dealer(db) for _ in range(50)]
    hq_user = await make_user(db, Role.HQ_ADMIN)
    headers = bearer(settings, hq_user)
    hq = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
    database = Database(DatabaseSettings(url=settings.database.url, pool_size=15))
    install_trail(database)
    start = asyncio.Event()

    async def by_service(n: int) -> None:
        await start.wait()
        async with transaction(database) as s:
            await set_credit_limit(s, hq, dealers[n].id, 1_000 * (n + 1), f"并发 {n}")

    async def by_http(n: int) -> None:
        await start.wait()
        response = await client.put(
            f"/hq/dealers/{dealers[n].id}/accounts/credit-limit",
            json={"limit": 1_000 * (n + 1), "reason": f"并发 {n}"},
            headers=headers,
        )
        assert response.status_code == 200, response.text

    tasks = [asyncio.create_task(by_service(n)) for n in range(25)]
    tasks += [asyncio.create_task(by_http(n)) for n in range(25, 50)]
    await asyncio.sleep(0.05)
    start.set()
    await asyncio.gather(*tasks)
    await database.dispose()

    async with db.session() as s:
        entries = (await s.execute(select(DecisionEntry).order_by(DecisionEntry.seq))).scalars()
        chain = [(e.seq, e.prev_hash, e.entry_hash, e.document_id) for e in entries]
        verification = await verify_trail(s)
        heads = (
            await s.execute(select(sync_change.c.version).where(sync_change.c.scope == TRAIL_SCOPE))
        ).scalars()
        published = sorted(heads)
    assert [seq for seq, _, _, _ in chain] == list(range(1, 51))
    for (_, _, before, _), (_, prev, _, _) in itertools.pairwise(chain):
        assert prev == before  # each entry links to the one committed before it
    assert len({doc for _, _, _, doc in chain}) == 50  # every decision, once
    assert verification.ok and verification.checked == 50
    assert published == list(range(1, 51))  # the head was published at every move
