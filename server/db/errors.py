"""The one place that reads database driver errors and says what they mean to the service.

Drivers differ (asyncpg, aiosqlite) and SQLAlchemy wraps them in ``DBAPIError``; domains never
inspect driver errors themselves, they ask here:

- :func:`is_transient`: the database blinked (connection refused, reset or closed, the server
  shutting down or starting up, a failed rollback on a dead connection, the pool out of
  connections, locked, deadlock, serialization failure); the request is answered 503 with
  Retry-After and the client retries. The sync engine keeps the same rules in
  ``sync.errors.is_transient_db_error`` (it imports nothing of ours): change both together.
- :func:`is_unique_violation`: a unique or primary key constraint refused a row.
- :func:`duplicate_keys_raised`: a block in which that refusal is raised as
  :class:`DuplicateKey`, the one exception domains catch (never ``IntegrityError``): the caller
  turns it into its own ``Conflict``, or reads the row the winner wrote.
  ``server.db.repository.flush_or_conflict`` maps any integrity refusal to a 409.
- :func:`from_driver`: an error asyncpg raised on the raw path (``server.db.fast``) as the
  ``sqlalchemy.exc`` error ``execute`` would have raised.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

_TRANSIENT_MARKERS = (
    "database is locked",
    "deadlock",
    "could not serialize",
    "connection",
    "shutting down",
    "starting up",
    "terminating",
    "the database system",
    "another operation is in progress",  # the driver's protocol, left mid-operation
)
# SQLSTATE classes and codes worth a retry: 08 connection exception, 40001 serialization
# failure, 40P01 deadlock, 53300 too many connections, 55P03 lock not available, 57P01-57P03
# admin shutdown, crash shutdown, cannot connect now.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "53300", "55P03", "57P01", "57P02", "57P03"})
_CAUSE_DEPTH = 5


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) is an infrastructure blink a retry can get past."""
    seen: BaseException | None = exc
    for _ in range(_CAUSE_DEPTH):
        if seen is None:
            return False
        if _is_transient_one(seen):
            return True
        seen = seen.__cause__
    return False


def _is_transient_one(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout | ConnectionError | TimeoutError):
        return True  # pool exhausted; connection refused, reset or aborted; connect timeout
    if isinstance(exc, BaseExceptionGroup):
        return any(is_transient(inner) for inner in exc.exceptions)  # type: ignore[misc]
    if _sqlstate_is_transient(exc):
        return True  # asyncpg raises some of these unwrapped (cannot connect now)
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or _sqlstate_is_transient(exc.orig):
        return True
    text = str(exc.orig).lower()
    return any(marker in text for marker in _TRANSIENT_MARKERS)


def _sqlstate_is_transient(exc: BaseException | None) -> bool:
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if not isinstance(sqlstate, str):
        return False
    return sqlstate.startswith("08") or sqlstate in _TRANSIENT_SQLSTATES


def is_unique_violation(exc: BaseException) -> bool:
    """Whether ``exc`` is a unique (or primary key) constraint refusing a row."""
    if not isinstance(exc, IntegrityError):
        return False
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate key" in text


class DuplicateKey(Exception):
    """A unique or primary key constraint refused a row (another row holds the key)."""


@contextmanager
def duplicate_keys_raised() -> Iterator[None]:
    """Raise a unique violation inside the block as :class:`DuplicateKey` (from the driver's
    error); any other error passes unchanged. Wrap the savepoint, not the statement: the
    transaction must be usable afterwards::

        try:
            with duplicate_keys_raised():
                async with session.begin_nested():
                    session.add(row)
                    await session.flush()
        except DuplicateKey:
            ...  # the key is taken
    """
    try:
        yield
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise DuplicateKey(str(exc.orig)) from exc
        raise


# SQLSTATE classes (the first two characters) of PostgreSQL errors -> SQLAlchemy's wrapper,
# as PEP 249 names them: https://www.postgresql.org/docs/current/errcodes-appendix.html
_SQLSTATE_CLASSES: dict[str, type[DBAPIError]] = {
    "08": OperationalError,  # connection exception
    "22": DataError,
    "23": IntegrityError,
    "40": OperationalError,  # transaction rollback: serialization failure, deadlock
    "42": ProgrammingError,
    "53": OperationalError,  # insufficient resources
    "57": OperationalError,  # operator intervention: shutting down, query canceled
    "0A": NotSupportedError,
}


def from_driver(exc: Exception, statement: str, params: Sequence[Any]) -> DBAPIError:
    """The ``sqlalchemy.exc`` error for an error raised by asyncpg itself (the raw path), the
    same class ``execute`` raises, so that callers and the two questions above treat both
    paths alike."""
    sqlstate = str(getattr(exc, "sqlstate", "") or "")
    if not sqlstate:  # no server answer: the connection itself failed (closed, lost, or its
        # protocol left mid-operation); the pool's pre-ping replaces it on the next checkout
        return OperationalError(statement, list(params), exc, connection_invalidated=True)
    wrapper = _SQLSTATE_CLASSES.get(sqlstate[:2], DBAPIError)
    return wrapper(statement, list(params), exc)
