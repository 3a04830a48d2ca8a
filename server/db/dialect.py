"""Statements whose spelling differs between SQLite and PostgreSQL.

A per-row setting (a warehouse's policy, a tier's threshold, the one order-settings row) is
written with :func:`upsert`, one ``INSERT ... ON CONFLICT DO UPDATE``: never read-then-insert,
which two concurrent first writes turn into a unique violation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow


def insert_ignoring_duplicates(
    session: AsyncSession, model: type[Any], rows: list[dict[str, Any]]
) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model).values(rows).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model).values(rows).on_conflict_do_nothing()


def is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def upsert(session: AsyncSession, model: type[Any], values: dict[str, Any]) -> Any:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE`` of ``values`` for one row."""
    if is_postgresql(session):
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    keys: Sequence[str] = [c.key for c in inspect(model).primary_key]
    changes = {k: v for k, v in values.items() if k not in keys}
    if "updated_at" in inspect(model).columns:
        # ON CONFLICT's UPDATE does not run Python-side onupdate defaults.
        changes["updated_at"] = utcnow()
    return (
        dialect_insert(model)
        .values(values)
        .on_conflict_do_update(index_elements=list(keys), set_=changes)
    )
