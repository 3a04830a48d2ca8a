"""Enqueue jobs inside the caller's transaction; run them with retries after the commit.

Why a database queue rather than SAQ/Redis: a job row written in the same transaction as the
claim or order it serves can neither be lost (the request committed, Redis was down) nor run
for data that rolled back. Runners claim due jobs with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL (any number of ``channelhub worker`` processes) and under SQLite's single writer
in the embedded default. A short lease (``locked_until``, 30 s) returns the job of a crashed
worker within about that long; while a job runs, a heartbeat renews its lease every third of
it, so a long job is never taken over from a worker that is alive. A lease is the attempt that
took it: renewals and the final state only apply while the row still carries that attempt, so
a worker that lost its lease cannot finish (or re-queue) a job another worker now runs.
Handlers must still be idempotent (the claim decision checks the claim's state): a worker
killed after its effect committed but before the job was marked done runs it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.engine import Database
from server.db.errors import DuplicateKey, duplicate_keys_raised, is_transient
from server.db.session import after_commit, transaction
from server.jobs.models import Job, JobStatus

Handler = Callable[[Database, dict[str, Any]], Awaitable[None]]
log = structlog.get_logger("channelhub.jobs")
_WAKE = "job_wake"


class JobRegistry:
    """Job names and their handlers; domains register theirs at app start."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}

    def register(self, name: str, handler: Handler) -> None:
        if name in self.handlers:
            raise ValueError(f"job {name!r} registered twice")
        self.handlers[name] = handler


async def enqueue(
    session: AsyncSession,
    name: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    delay_seconds: float = 0,
    max_attempts: int = 5,
) -> uuid.UUID | None:
    """Add a job to this transaction; returns None when ``dedupe_key`` was already queued."""
    job = Job(
        id=uuid.uuid4(),
        name=name,
        payload=payload,
        dedupe_key=dedupe_key,
        max_attempts=max_attempts,
        run_after=datetime.now(UTC) + timedelta(seconds=delay_seconds),
    )
    try:
        with duplicate_keys_raised():
            async with session.begin_nested():
                session.add(job)
                await session.flush()
    except DuplicateKey:
        return None
    wake = session.info.get(_WAKE)
    if wake is not None:
        after_commit(session, wake)
    return job.id


class JobRunner:
    """Claims due jobs and runs them, ``concurrency`` at a time, retrying with backoff."""

    def __init__(
        self,
        database: Database,
        registry: JobRegistry,
        *,
        concurrency: int = 2,
        lease_seconds: float = 30,
        poll_seconds: float = 1.0,
    ) -> None:
        self.database = database
        self.registry = registry
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease_seconds)
        self.heartbeat_seconds = lease_seconds / 3
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None

    async def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name="job-runner")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                claimed = await self.run_due(limit=self.concurrency - len(self._tasks), wait=False)
            except Exception as exc:
                if is_transient(exc):  # the database blinked: one line per poll, no traceback
                    log.warning("job_claim_unavailable", error=type(exc).__name__)
                else:
                    log.exception("job_claim_failed")
                claimed = 0
            if claimed == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def run_due(self, limit: int | None = None, *, wait: bool = True) -> int:
        """Claim up to ``limit`` due jobs and run them; with ``wait`` return when they finish."""
        jobs = await self._claim(limit if limit is not None else self.concurrency)
        tasks = [
            asyncio.create_task(self._run(job_id, attempt, name, payload))
            for job_id, attempt, name, payload in jobs
        ]
        for task in tasks:
            self._tasks.add(task)
            task.add_done_callback(self._slot_freed)
        if wait and tasks:
            await asyncio.gather(*tasks)
        return len(tasks)

    def _slot_freed(self, task: asyncio.Task[None]) -> None:
        """A job finished: its slot is free, so the loop claims again now, not at the next poll."""
        self._tasks.discard(task)
        self._wake.set()

    async def drain(self, max_rounds: int = 100) -> None:
        """Run until no job is due (tests and the CLI use this)."""
        for _ in range(max_rounds):
            if await self.run_due(wait=True) == 0:
                return

    async def _claim(self, limit: int) -> list[tuple[uuid.UUID, int, str, dict[str, Any]]]:
        if limit <= 0:
            return []
        now = datetime.now(UTC)
        async with transaction(self.database) as session:
            due = (
                select(Job)
                .where(
                    or_(
                        (Job.status == JobStatus.QUEUED) & (Job.run_after <= now),
                        (Job.status == JobStatus.RUNNING) & (Job.locked_until < now),
                    )
                )
                .order_by(Job.run_after)
                .limit(limit)
            )
            if not self.database.is_sqlite:
                due = due.with_for_update(skip_locked=True)
            jobs = (await session.execute(due)).scalars().all()
            for job in jobs:
                job.status = JobStatus.RUNNING
                job.attempts += 1
                job.locked_until = now + self.lease
            return [(job.id, job.attempts, job.name, dict(job.payload)) for job in jobs]

    async def _run(
        self, job_id: uuid.UUID, attempt: int, name: str, payload: dict[str, Any]
    ) -> None:
        handler = self.registry.handlers.get(name)
        error: str | None = None
        if handler is None:
            error = f"no handler for job {name!r}"
        else:
            heartbeat = asyncio.create_task(self._heartbeat(job_id, attempt))
            try:
                await handler(self.database, payload)
            except Exception:
                error = traceback.format_exc(limit=5)
                log.warning("job_failed", job=str(job_id), name=name, error=error.splitlines()[-1])
            finally:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat
        await self._finish(job_id, attempt, error)

    async def _heartbeat(self, job_id: uuid.UUID, attempt: int) -> None:
        """Renew the lease of a running job until cancelled (a failed renewal retries)."""
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                if not await self.renew(job_id, attempt):
                    log.warning("job_lease_lost", job=str(job_id))
                    return
            except Exception:  # the database blinked: the next beat tries again
                log.warning("job_lease_renewal_failed", job=str(job_id), exc_info=True)

    async def renew(self, job_id: uuid.UUID, attempt: int) -> bool:
        """Extend the lease of ``attempt`` of a running job; False if it is no longer ours."""
        async with transaction(self.database) as session:
            result = await session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.attempts == attempt,
                    Job.status == JobStatus.RUNNING,
                )
                .values(locked_until=datetime.now(UTC) + self.lease)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _finish(self, job_id: uuid.UUID, attempt: int, error: str | None) -> None:
        now = datetime.now(UTC)
        async with transaction(self.database) as session:
            job = await session.get(Job, job_id)
            if job is None or job.attempts != attempt or job.status != JobStatus.RUNNING:
                log.warning("job_finished_after_lease_lost", job=str(job_id), attempt=attempt)
                return
            if error is None:
                job.status, job.finished_at, job.locked_until = JobStatus.DONE, now, None
            elif job.attempts >= job.max_attempts:
                job.status, job.finished_at, job.last_error = JobStatus.DEAD, now, error
            else:
                job.status, job.last_error, job.locked_until = JobStatus.QUEUED, error, None
                job.run_after = now + timedelta(seconds=min(2**job.attempts, 300))

    async def retry_dead(self, job_id: uuid.UUID) -> bool:
        """Requeue a dead job (HQ's replay button)."""
        async with transaction(self.database) as session:
            result = await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.DEAD)
                .values(
                    status=JobStatus.QUEUED,
                    attempts=0,
                    run_after=datetime.now(UTC),
                    finished_at=None,
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]
