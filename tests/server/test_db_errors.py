"""What driver errors mean to the service (``server.db.errors``), checked on real asyncpg
exception types: a client-side failure of the connection is transient (503, retry)."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from server.db.errors import from_driver, is_transient, is_unique_violation


@pytest.mark.parametrize(
    "driver_error",
    [
        # What a PostgreSQL restart leaves behind on a connection that was mid-statement.
        asyncpg.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        ),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InterfaceError("cannot perform operation: connection is closed"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
    ],
)
def test_a_lost_or_restarting_connection_is_transient(driver_error: Exception) -> None:
    wrapped = from_driver(driver_error, "SELECT 1", [])
    assert isinstance(wrapped, OperationalError)
    assert is_transient(wrapped)


def test_a_refusal_by_the_data_is_not_transient() -> None:
    unique = from_driver(
        asyncpg.UniqueViolationError("duplicate key value violates unique constraint"), "I", []
    )
    assert isinstance(unique, IntegrityError) and is_unique_violation(unique)
    assert not is_transient(unique)
    bad = from_driver(asyncpg.DataError("invalid input syntax for type uuid"), "S", [])
    assert isinstance(bad, DataError) and not is_transient(bad)
