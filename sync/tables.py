"""Tables of the sync engine, on ``sync.metadata`` for the server's Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.types import DateTime, TypeDecorator

__all__ = [
    "UTCDateTime",
    "dialect_insert",
    "metadata",
    "sync_business_key",
    "sync_change",
    "sync_client",
    "sync_mutation",
    "sync_node",
    "sync_node_cursor",
    "sync_scope",
    "sync_webhook_delivery",
    "sync_webhook_endpoint",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every dialect (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# One row per scope: the last version handed out (row lock serialises writers of a scope)
# and the compaction floor (history at or below it is compacted to the latest change per key).
sync_scope = Table(
    "sync_scope",
    metadata,
    Column("scope", String(200), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("floor", BigInteger, nullable=False, server_default="0"),
)

sync_change = Table(
    "sync_change",
    metadata,
    Column("scope", String(200), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("entity", String(100), nullable=False),
    Column("key", String(200), nullable=False),
    Column("op", String(8), nullable=False),
    # msgspec JSON bytes, streamed to JSON clients without re-encoding; NULL for deletes.
    Column("data", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("scope", "version"),
    Index("ix_sync_change_key", "scope", "entity", "key", "version"),
)

sync_client = Table(
    "sync_client",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("subject_id", String(100), nullable=False),
    Column("dealer_id", String(100), nullable=True),
    Column("last_mid", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)

sync_mutation = Table(
    "sync_mutation",
    metadata,
    Column("client_id", String(64), nullable=False),
    Column("mid", BigInteger, nullable=False),
    Column("name", String(100), nullable=False),
    Column("business_key", String(200), nullable=True),
    Column("status", String(16), nullable=False),
    Column("reason", String(100), nullable=True),
    Column("detail", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("client_id", "mid"),
)

# The first mutation that carried a business key owns its outcome; replays get that outcome.
sync_business_key = Table(
    "sync_business_key",
    metadata,
    Column("owner", String(120), nullable=False),
    Column("business_key", String(200), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("mid", BigInteger, nullable=False),
    PrimaryKeyConstraint("owner", "business_key"),
)

# Channel nodes: devices (node_id = client_id) and webhook endpoints ("webhook:{id}").
sync_node = Table(
    "sync_node",
    metadata,
    Column("node_id", String(120), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("subject_id", String(100), nullable=True),
    Column("dealer_id", String(100), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)

sync_node_cursor = Table(
    "sync_node_cursor",
    metadata,
    Column("node_id", String(120), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("acked_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("node_id", "scope"),
    Index("ix_sync_node_cursor_scope", "scope", "version"),
)

sync_webhook_endpoint = Table(
    "sync_webhook_endpoint",
    metadata,
    Column("endpoint_id", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", String(200), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

sync_webhook_delivery = Table(
    "sync_webhook_delivery",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("endpoint_id", String(64), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("from_cursor", BigInteger, nullable=False),
    Column("to_cursor", BigInteger, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Index("ix_sync_webhook_delivery_seq", "endpoint_id", "scope", "seq", unique=True),
    Index("ix_sync_webhook_delivery_due", "status", "next_attempt_at"),
)


def dialect_name(db: AsyncSession | AsyncConnection) -> str:
    """``postgresql`` or ``sqlite``: the dialect behind ``db``."""
    return db.get_bind().dialect.name if isinstance(db, AsyncSession) else db.dialect.name


def dialect_insert(db: AsyncSession | AsyncConnection, table: Table) -> Any:
    """An INSERT with ``on_conflict_*`` for the dialect behind ``db`` (PostgreSQL or SQLite)."""
    return postgresql.insert(table) if dialect_name(db) == "postgresql" else sqlite.insert(table)
