"""Concurrent publishes, withdrawals and reads on real PostgreSQL: each effect happens once.

Separate sessions commit for real, started together. On SQLite writers are serial (BEGIN
IMMEDIATE): no race to test there.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, select

from server.announcements import mark_read, publish_announcement, withdraw_announcement
from server.announcements.models import AnnouncementRead
from server.db.base import utcnow
from server.db.engine import Database
from server.db.session import transaction
from server.identity.models import Role
from server.identity.principal import Principal
from server.settings import DatabaseSettings, Settings
from server.storage import create_storage
from server.trail import install_trail
from server.trail.models import DecisionEntry
from sync.tables import sync_change
from tests.announcements.conftest import Channel, Client, create

HQ = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)


async def together(settings: Settings, n: int, work: Callable[[object], Awaitable[None]]) -> None:
    """Run ``work(session)`` in ``n`` transactions of their own, started at once."""
    database = Database(DatabaseSettings(url=settings.database.url, pool_size=n + 2))
    install_trail(database)
    start = asyncio.Event()

    async def one() -> None:
        await start.wait()
        async with transaction(database) as s:
            await work(s)

    tasks = [asyncio.create_task(one()) for _ in range(n)]
    await asyncio.sleep(0.05)
    start.set()
    await asyncio.gather(*tasks)
    await database.dispose()


async def count(db: Database, stmt: object) -> int:
    async with db.session() as s:
        return int(await s.scalar(stmt) or 0)  # type: ignore[arg-type]


async def test_concurrent_publishes_withdrawals_and_reads_happen_once(
    backend: str, settings: Settings, db: Database, client: Client, channel: Channel
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): no race to test")
    a = await create(client, channel.hq)
    a_id = uuid.UUID(a["id"])
    storage = create_storage(settings.storage, settings.public_base_url, settings.auth.jwt_secret)

    async def publish(s: object) -> None:
        await publish_announcement(s, storage, HQ, a_id, utcnow())  # type: ignore[arg-type]

    await together(settings, 8, publish)
    reader = Principal(user_id=uuid.uuid4(), role=Role.DEALER_ADMIN, dealer_id=channel.west_lake.id)

    async def read(s: object) -> None:
        await mark_read(s, reader, a_id, utcnow())  # type: ignore[arg-type]

    await together(settings, 8, read)

    async def withdraw(s: object) -> None:
        await withdraw_announcement(s, HQ, a_id, utcnow())  # type: ignore[arg-type]

    await together(settings, 8, withdraw)
    decisions = select(DecisionEntry.outcome).where(DecisionEntry.document_id == a["id"])
    async with db.session() as s:
        outcomes = sorted((await s.execute(decisions)).scalars())
    assert outcomes == ["published", "withdrawn"]  # one decision each, whoever came second
    changes = select(func.count()).where(
        sync_change.c.entity == "announcement", sync_change.c.key == a["id"]
    )
    assert await count(db, changes) == 2  # one upsert, one delete
    reads = select(func.count()).select_from(AnnouncementRead)
    assert await count(db, reads) == 1
    published_reads = select(func.count()).where(sync_change.c.entity == "announcement_read")
    assert await count(db, published_reads) == 1
