"""Concurrent publishers on PostgreSQL, committing for real: a reader never skips a version."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from sync import publish, pull

pytestmark = pytest.mark.postgres


async def test_reader_never_skips_a_version_under_concurrent_publishers(
    postgres_engine: AsyncEngine,
) -> None:
    sessions = async_sessionmaker(postgres_engine, expire_on_commit=False)
    writers, per_writer = 8, 15
    rng = random.Random(7)
    done = asyncio.Event()

    async def writer(w: int) -> None:
        for i in range(per_writer):
            async with sessions.begin() as session:
                await publish(session, "hot", "item", f"w{w}-{i}", "upsert", {"w": w, "i": i})
                # Hold the transaction open a little: later writers queue on the scope row.
                await asyncio.sleep(rng.random() * 0.004)
            await asyncio.sleep(0)

    seen: list[int] = []

    async def reader() -> int:
        cursor: dict[str, int] = {"hot": 0}
        pulls = 0
        while True:
            finished = done.is_set()
            async with sessions() as session:
                result = await pull(session, {"hot"}, cursor, 7)
            pulls += 1
            versions = [c.version for c in result.changes]
            expected_start = cursor["hot"] + 1
            assert versions == list(range(expected_start, expected_start + len(versions)))
            seen.extend(versions)
            cursor = result.cursor
            if finished and not result.has_more:
                return pulls
            await asyncio.sleep(0.001)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(w) for w in range(writers)))
    done.set()
    pulls = await reading
    assert seen == list(range(1, writers * per_writer + 1))
    assert pulls > 5  # the reader really interleaved with the writers
