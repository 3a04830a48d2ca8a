"""Job leases are short and renewed while a job runs (issue 14).

A worker that dies mid-job (its task cancelled: no heartbeat, no finish, as after a kill)
leaves a lease that expires within ``lease_seconds``, and another worker takes the job over;
a worker that is alive keeps renewing, so a job three leases long is never run twice.
Effects are counted, not only states.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select

from server.db.engine import Database
from server.db.session import transaction
from server.jobs.models import Job, JobStatus
from server.jobs.queue import JobRegistry, JobRunner, enqueue

LEASE = 0.9


async def job_rows(db: Database) -> list[Job]:
    async with db.session() as s:
        return list((await s.execute(select(Job))).scalars())


async def test_a_long_job_keeps_renewing_its_lease_and_runs_once(db: Database) -> None:
    started: list[str] = []
    finished: list[str] = []
    registry = JobRegistry()

    async def long_ocr(_: Database, payload: dict[str, Any]) -> None:
        started.append(payload["claim"])
        await asyncio.sleep(LEASE * 3)  # three leases long: only heartbeats keep it ours
        finished.append(payload["claim"])

    registry.register("ocr", long_ocr)
    async with transaction(db) as session:
        await enqueue(session, "ocr", {"claim": "c1"})
    alive = JobRunner(db, registry, lease_seconds=LEASE)
    other = JobRunner(db, registry, lease_seconds=LEASE)
    running = asyncio.create_task(alive.run_due(wait=True))
    await asyncio.sleep(0.1)
    taken_by_other = 0
    while not running.done():  # the other worker polls all along
        taken_by_other += await other.run_due(wait=True)
        await asyncio.sleep(0.1)
    assert await running == 1
    assert taken_by_other == 0
    assert (started, finished) == (["c1"], ["c1"])
    [job] = await job_rows(db)
    assert (job.status, job.attempts) == (JobStatus.DONE, 1)


async def test_a_killed_workers_job_is_taken_over_within_the_lease_and_done_once(
    db: Database,
) -> None:
    effects: list[str] = []
    registry = JobRegistry()
    first_attempt = asyncio.Event()

    async def decide(_: Database, payload: dict[str, Any]) -> None:
        if not first_attempt.is_set():
            first_attempt.set()
            await asyncio.Event().wait()  # the worker dies here, mid-OCR
        effects.append(payload["claim"])

    registry.register("decide", decide)
    async with transaction(db) as session:
        await enqueue(session, "decide", {"claim": "c2"})
    doomed = JobRunner(db, registry, lease_seconds=LEASE)
    survivor = JobRunner(db, registry, lease_seconds=LEASE)
    dying = asyncio.create_task(doomed.run_due(wait=True))
    await first_attempt.wait()
    dying.cancel()  # killed: no heartbeat from now on, and no finish
    killed_at = time.monotonic()
    assert await survivor.run_due(wait=True) == 0  # its lease still holds
    while await survivor.run_due(wait=True) == 0:
        assert time.monotonic() - killed_at < LEASE * 5, "never taken over"
        await asyncio.sleep(0.05)
    takeover = time.monotonic() - killed_at
    assert takeover <= LEASE * 2, takeover
    assert effects == ["c2"]  # decided once
    [job] = await job_rows(db)
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)
    print(f"takeover after kill: {takeover:.2f} s with a {LEASE} s lease")


async def test_a_worker_that_lost_its_lease_cannot_finish_the_job(db: Database) -> None:
    registry = JobRegistry()
    registry.register("noop", lambda _db, _payload: asyncio.sleep(0))
    async with transaction(db) as session:
        await enqueue(session, "noop", {})
    runner = JobRunner(db, registry, lease_seconds=LEASE)
    [job] = await job_rows(db)
    async with transaction(db) as session:  # a takeover: attempt 2 holds the job now
        stored = await session.get(Job, job.id)
        assert stored is not None
        stored.status, stored.attempts = JobStatus.RUNNING, 2
    assert not await runner.renew(job.id, 1)
    assert await runner.renew(job.id, 2)
