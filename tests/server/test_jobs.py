"""The job queue: transactional enqueue, retries, dead letters, no double runs on PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from server.db.engine import Database
from server.db.session import transaction
from server.jobs.models import Job, JobStatus
from server.jobs.queue import JobRegistry, JobRunner, enqueue


async def jobs(db: Database) -> list[Job]:
    async with db.session() as s:
        return list((await s.execute(select(Job).order_by(Job.created_at))).scalars())


async def test_a_rolled_back_transaction_leaves_no_job(db: Database) -> None:
    ran: list[dict[str, Any]] = []
    registry = JobRegistry()

    async def handler(_: Database, payload: dict[str, Any]) -> None:
        ran.append(payload)

    registry.register("note", handler)
    with pytest.raises(RuntimeError):
        async with transaction(db) as session:
            await enqueue(session, "note", {"n": 1})
            raise RuntimeError("the request failed")
    async with transaction(db) as session:
        await enqueue(session, "note", {"n": 2})
    await JobRunner(db, registry).drain()
    assert ran == [{"n": 2}]
    assert [j.status for j in await jobs(db)] == [JobStatus.DONE]


async def test_dedupe_key_queues_once(db: Database) -> None:
    async with transaction(db) as session:
        first = await enqueue(session, "note", {}, dedupe_key="claim:1")
        second = await enqueue(session, "note", {}, dedupe_key="claim:1")
    assert first is not None
    assert second is None
    assert len(await jobs(db)) == 1


async def test_failures_retry_with_backoff_then_go_dead(db: Database) -> None:
    attempts: list[int] = []
    registry = JobRegistry()

    async def flaky(_: Database, payload: dict[str, Any]) -> None:
        attempts.append(1)
        raise ValueError("remote is down")

    registry.register("flaky", flaky)
    async with transaction(db) as session:
        await enqueue(session, "flaky", {}, max_attempts=2)
    runner = JobRunner(db, registry)
    await runner.drain()
    [job] = await jobs(db)
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 1)
    assert job.last_error and "remote is down" in job.last_error
    async with transaction(db) as session:  # time passes: make the retry due
        (await session.get(Job, job.id)).run_after = job.created_at  # type: ignore[union-attr]
    await runner.drain()
    [job] = await jobs(db)
    assert (job.status, job.attempts, len(attempts)) == (JobStatus.DEAD, 2, 2)
    assert await runner.retry_dead(job.id)
    assert (await jobs(db))[0].status == JobStatus.QUEUED


async def test_concurrent_runners_never_run_a_job_twice(db: Database, backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("concurrent claiming is a PostgreSQL property (SQLite has one writer)")
    seen: list[int] = []
    registry = JobRegistry()

    async def record(_: Database, payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)
        seen.append(int(payload["n"]))

    registry.register("record", record)
    async with transaction(db) as session:
        for n in range(60):
            await enqueue(session, "record", {"n": n})
    runners = [JobRunner(db, registry, concurrency=4) for _ in range(4)]
    await asyncio.gather(*(r.drain() for r in runners))
    assert sorted(seen) == list(range(60))


async def test_the_app_runs_jobs_in_process(app: Any, client: Any, db: Database) -> None:
    """The embedded default: the API process's own runner picks up committed jobs."""
    app.state.jobs.register("ping", _ping)
    async with transaction(db) as session:
        await enqueue(session, "ping", {})
    for _ in range(100):
        if [j.status for j in await jobs(db)] == [JobStatus.DONE]:
            break
        await asyncio.sleep(0.05)
    assert [j.status for j in await jobs(db)] == [JobStatus.DONE]


async def _ping(_: Database, payload: dict[str, Any]) -> None:
    return None


async def test_a_database_that_is_down_is_one_warning_per_poll_without_a_traceback() -> None:
    """The runner keeps polling while the database is unreachable, and says so in one line."""
    from structlog.testing import capture_logs

    from server.settings import DatabaseSettings

    down = Database(DatabaseSettings(url="postgresql+asyncpg://postgres@127.0.0.1:1/none"))
    runner = JobRunner(down, JobRegistry(), concurrency=1, poll_seconds=0.05)
    with capture_logs() as logs:
        runner.start()
        await asyncio.sleep(0.5)
        await runner.stop()
    await down.dispose()
    claims = [e for e in logs if str(e["event"]).startswith("job_claim")]
    assert len(claims) >= 2  # it went on polling
    assert {(e["event"], e["log_level"]) for e in claims} == {("job_claim_unavailable", "warning")}
    assert all("exc_info" not in e for e in claims)
