"""The request owns the transaction: one session per request, committed by the dependency.

Services and repositories never commit. Work that must only happen once the data is durable
(realtime pokes, jobs, Redis publishes) is registered with :func:`after_commit`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from litestar import Request
from litestar.datastructures import State
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.engine import Database
from server.db.errors import is_transient
from server.db.scoping import scope_to_dealer
from server.errors import ChannelhubError, Unavailable

AfterCommit = Callable[[], Awaitable[None]]
_AFTER_COMMIT = "after_commit"
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
log = structlog.get_logger("channelhub.db")


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` once this session's transaction has committed (never on rollback)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop(_AFTER_COMMIT, [])
    for callback in callbacks:
        try:
            await callback()
        except Exception:  # the data is committed; a failed poke must not fail the request
            log.exception("after_commit_failed")


async def commit(database: Database, session: AsyncSession) -> None:
    """Run the pre-commit hooks, commit, then the post-commit hooks and callbacks."""
    for hook in database.before_commit:
        await hook(session)
    await session.commit()
    for after in database.after_commit:
        try:
            await after(session)
        except Exception:  # the data is committed; a failed poke must not fail the request
            log.exception("after_commit_hook_failed")
    await run_after_commit(session)


async def rollback(database: Database, session: AsyncSession) -> None:
    await session.rollback()
    session.info.pop(_AFTER_COMMIT, None)
    for hook in database.on_rollback:
        hook(session)


async def provide_db_session(
    state: State, request: Request[Any, Any, Any]
) -> AsyncIterator[AsyncSession]:
    """Open the request's session; commit after the handler, roll back on any error.

    A transient database error anywhere here (a statement, the commit, the rollback, closing)
    leaves as :class:`Unavailable`: 503 with Retry-After, never a 500.
    """
    database: Database = state.database
    session = database.session(write=request.method not in _READ_METHODS)
    dealer_id = getattr(request.scope.get("user"), "dealer_id", None)
    if dealer_id is not None:
        # The one place dealer scoping is switched on: every DealerOwned query of this
        # request is filtered to the token's dealer (see server.db.scoping).
        scope_to_dealer(session, dealer_id)
    job_wake = state.get("job_wake")
    if job_wake is not None:
        session.info["job_wake"] = job_wake
    try:
        try:
            yield session
        except ChannelhubError as exc:
            if not exc.keep_changes:
                raise
            await _commit_or_unavailable(database, session)
            raise
        await _commit_or_unavailable(database, session)
    except BaseException as exc:
        await _rollback_quietly(database, session, exc)
        if is_transient(exc) and not isinstance(exc, ChannelhubError):
            raise database_unavailable() from exc
        raise
    finally:
        await close_quietly(session)


def database_unavailable() -> Unavailable:
    """The 503 for a database that blinked (the client retries after Retry-After)."""
    return Unavailable(
        "database_unavailable",
        "数据库暂时不可用，请稍后重试",
        "The database is temporarily unavailable, retry later",
    )


async def _commit_or_unavailable(database: Database, session: AsyncSession) -> None:
    try:
        await commit(database, session)
    except (OperationalError, DBAPIError) as exc:
        if is_transient(exc):
            raise database_unavailable() from exc
        raise


async def _rollback_quietly(
    database: Database, session: AsyncSession, cause: BaseException
) -> None:
    """Roll back after ``cause``; a rollback that fails on a dead connection is only logged."""
    try:
        if session.in_transaction():
            await rollback(database, session)
    except Exception as exc:
        if not is_transient(exc):
            raise
        session.info.pop(_AFTER_COMMIT, None)
        for hook in database.on_rollback:
            hook(session)
        log.warning("rollback_failed", error=repr(exc), cause=repr(cause))


async def close_quietly(session: AsyncSession) -> None:
    """Close ``session``; on a connection that already died the pool discards it (logged)."""
    try:
        await session.close()
    except Exception as exc:
        if not is_transient(exc):
            raise
        log.warning("session_close_failed", error=repr(exc))


@asynccontextmanager
async def transaction(database: Database) -> AsyncIterator[AsyncSession]:
    """The same contract outside HTTP (CLI, jobs): commit at the end, then after-commit work."""
    session = database.session()
    try:
        yield session
        await commit(database, session)
    except BaseException as exc:
        await _rollback_quietly(database, session, exc)
        raise
    finally:
        await close_quietly(session)


def snapshot_notes(session: AsyncSession) -> dict[str, Any]:
    """A copy of what domains noted on the session (two container levels deep).

    Taken before a savepoint whose rollback the caller recovers from: what was noted inside
    it (changes to publish, pokes, locked rows) must go with it (see :func:`restore_notes`).
    """
    return {key: _copy_note(value) for key, value in session.info.items()}


def restore_notes(session: AsyncSession, snapshot: dict[str, Any]) -> None:
    session.info.clear()
    session.info.update(snapshot)


def _copy_note(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy_shallow(v) for k, v in value.items()}  # type: ignore[misc]
    return _copy_shallow(value)


def _copy_shallow(value: Any) -> Any:
    if isinstance(value, dict | list | set):
        return type(value)(value)  # type: ignore[arg-type]
    return value
