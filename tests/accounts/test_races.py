"""Funds races on real PostgreSQL: separate sessions that commit for real, started together.

On SQLite write transactions are serial (BEGIN IMMEDIATE), so there is no race to test there.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from server.accounts import hold_funds, ledger_faults
from server.accounts.funds import dealer_balances, top_up
from server.accounts.schemas import TopUpIn
from server.db.engine import Database
from server.db.session import transaction
from server.errors import Conflict
from server.identity.models import Role
from server.identity.principal import Principal
from server.settings import DatabaseSettings, Settings
from tests.factories import make_dealer


def pooled(settings: Settings) -> Database:
    return Database(DatabaseSettings(url=settings.database.url, pool_size=10))


async def test_concurrent_holds_never_exceed_available_funds(
    backend: str, settings: Settings, db: Database
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): no race to test")
    dealer = await make_dealer(db)
    hq = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
    async with transaction(db) as s:
        await top_up(
            s,
            hq,
            dealer.id,
            TopUpIn(account="prepaid", amount=10_000, reason="汇款", idempotency_key="bank-00001"),
        )
    database = pooled(settings)
    start = asyncio.Event()

    async def one(n: int) -> int:
        await start.wait()
        try:
            async with transaction(database) as s:
                hold = await hold_funds(s, dealer.id, f"SO-{n}", 700, ["prepaid"])
        except Conflict as exc:
            assert exc.code == "funds_insufficient"
            return 0
        return hold.amount

    tasks = [asyncio.create_task(one(n)) for n in range(60)]
    await asyncio.sleep(0.05)
    start.set()
    held = await asyncio.gather(*tasks)
    await database.dispose()
    assert sum(held) == 700 * (10_000 // 700)
    async with db.session() as s:
        balances = await dealer_balances(s, dealer.id)
        assert (balances.prepaid, balances.held) == (10_000 - sum(held), sum(held))
        assert balances.prepaid >= 0
        assert await ledger_faults(s) == []
