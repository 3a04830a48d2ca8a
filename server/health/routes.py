"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State
from sqlalchemy import text

from server.db.engine import Database
from server.schemas import Response as Body


class Health(Body, kw_only=True):
    status: str


class Readiness(Body, kw_only=True):
    status: str
    checks: dict[str, str]


class HealthController(Controller):
    path = ""
    tags = ["system"]

    @get("/health", summary="Liveness")
    async def health(self) -> Health:
        """The process is up and serving (no dependencies checked)."""
        return Health(status="ok")

    @get("/ready", summary="Readiness")
    async def ready(self, state: State) -> Response[Readiness]:
        """Checks the database, Redis when configured, and object storage."""
        checks: dict[str, str] = {}
        database: Database = state.database
        checks["database"] = await _probe(_db_probe(database))
        if state.redis is not None:
            checks["redis"] = await _probe(state.redis.ping())
        checks["storage"] = await _probe(state.storage.check())
        ok = all(v == "ok" for v in checks.values())
        return Response(
            Readiness(status="ok" if ok else "unavailable", checks=checks),
            status_code=200 if ok else 503,
        )


async def _db_probe(database: Database) -> None:
    async with database.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _probe(awaitable: Any) -> str:
    import asyncio

    try:
        await asyncio.wait_for(awaitable, timeout=3)
    except Exception as exc:  # readiness reports any failure as a state, never raises
        return f"error: {type(exc).__name__}"
    return "ok"
