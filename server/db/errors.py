"""The one place that reads database driver errors and says what they mean to the service.

Drivers differ (asyncpg, aiosqlite) and SQLAlchemy wraps them in ``DBAPIError``; domains never
inspect driver errors themselves, they ask here:

- :func:`is_transient`: the database blinked (connection refused or reset, shutting down,
  locked, deadlock, serialization failure); the request is answered 503 with Retry-After and
  the client retries.
- :func:`is_unique_violation`: a unique or primary key constraint refused a row; the caller
  turns it into its own ``Conflict`` (or reads the row the winner wrote).
- :func:`from_driver`: an error asyncpg raised on the raw path (``server.db.fast``) as the
  ``sqlalchemy.exc`` error ``execute`` would have raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)

_TRANSIENT_MARKERS = ("database is locked", "deadlock", "could not serialize", "connection")


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is an infrastructure blink that a retry can get past."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    text = str(exc.orig).lower()
    return any(marker in text for marker in _TRANSIENT_MARKERS)


def is_unique_violation(exc: BaseException) -> bool:
    """Whether ``exc`` is a unique (or primary key) constraint refusing a row."""
    if not isinstance(exc, IntegrityError):
        return False
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate key" in text


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
    wrapper = _SQLSTATE_CLASSES.get(sqlstate[:2], DBAPIError)
    if not sqlstate:  # no server answer: the connection itself failed
        wrapper = OperationalError
    return wrapper(statement, list(params), exc)
