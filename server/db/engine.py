"""Engines and session factories for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from server.settings import DatabaseSettings


class Database:
    """The app's engines: one for writes and, on SQLite, a second for reads.

    SQLite allows one writer: write transactions start with ``BEGIN IMMEDIATE`` so that two
    writers queue on the busy timeout instead of failing on lock upgrade, while reads use plain
    deferred transactions and run beside them (WAL).
    """

    def __init__(self, settings: DatabaseSettings) -> None:
        self.url = make_url(settings.url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            database = self.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
                # Switch the file to WAL once, before any pooled connection races to do it.
                with contextlib.closing(sqlite3.connect(database, timeout=30)) as conn:
                    conn.execute("PRAGMA journal_mode=WAL")
            self.engine = _sqlite_engine(settings.url, settings.echo, immediate=True)
            self.read_engine = _sqlite_engine(settings.url, settings.echo, immediate=False)
        else:
            self.engine = create_async_engine(
                settings.url,
                echo=settings.echo,
                pool_size=settings.pool_size,
                max_overflow=settings.pool_size,
                pool_pre_ping=True,
            )
            self.read_engine = self.engine
        # Hooks the composition root installs: work that must run in every transaction just
        # before its commit (sync publications), after it (realtime pokes), or on rollback.
        self.before_commit: list[Callable[[AsyncSession], Awaitable[None]]] = []
        self.after_commit: list[Callable[[AsyncSession], Awaitable[None]]] = []
        self.on_rollback: list[Callable[[AsyncSession], None]] = []
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessionmaker = async_sessionmaker(self.read_engine, expire_on_commit=False)

    def session(self, *, write: bool = True) -> AsyncSession:
        return (self.sessionmaker if write else self.read_sessionmaker)()

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def _sqlite_engine(url: str, echo: bool, *, immediate: bool) -> AsyncEngine:
    engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        # WAL is a property of the file: switch only when needed, since switching needs a
        # lock that another open connection may hold ("database is locked").
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
