"""The one place that reads database driver errors and says what they mean to the service.

Drivers differ (asyncpg, aiosqlite) and SQLAlchemy wraps them in ``DBAPIError``; domains never
inspect driver errors themselves, they ask here:

- :func:`is_transient`: the database blinked (connection refused or reset, shutting down,
  locked, deadlock, serialization failure); the request is answered 503 with Retry-After and
  the client retries.
- :func:`is_unique_violation`: a unique or primary key constraint refused a row; the caller
  turns it into its own ``Conflict`` (or reads the row the winner wrote).
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError

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
