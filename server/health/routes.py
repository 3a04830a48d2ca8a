"""Liveness and readiness: "cannot serve" (database down) apart from "degraded" (Redis down).

A load balancer takes a replica out only when it cannot serve: without its database. Redis
accelerates (cross-replica pokes, shared login throttling) and object storage serves receipt
uploads only: without them the replica still serves, answers 200 with ``status: degraded``
and names what is missing. The same states are in ``/metrics`` as
``channelhub_dependency_up{dependency=...}`` and ``channelhub_ready_state``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from prometheus_client import Gauge
from sqlalchemy import text

from server.db.engine import Database
from server.schemas import Response as Body

DEPENDENCY_UP = Gauge(
    "channelhub_dependency_up",
    "1 when the dependency answered the last readiness probe, else 0",
    ["dependency"],
)
READY_STATE = Gauge(
    "channelhub_ready_state",
    "Readiness at the last probe: 2 ok, 1 degraded (serving without Redis or storage), 0 cannot serve",
)
_REQUIRED = frozenset({"database"})
_STATE_VALUE = {"ok": 2, "degraded": 1, "unavailable": 0}


class Health(Body, kw_only=True):
    status: str


class Readiness(Body, kw_only=True):
    status: str
    """``ok``, ``degraded`` (serving; ``degraded`` names what is missing) or ``unavailable``."""
    checks: dict[str, str]
    degraded: list[str] = []


class HealthController(Controller):
    path = ""
    tags = ["system"]

    @get("/health", summary="Liveness")
    async def health(self) -> Health:
        """The process is up and serving (no dependencies checked)."""
        return Health(status="ok")

    @get(
        "/ready",
        summary="Readiness",
        responses={
            503: ResponseSpec(
                Readiness, description="Cannot serve: the database is down (or still starting)"
            )
        },
    )
    async def ready(self, state: State) -> Response[Readiness]:
        """503 when the database cannot be reached; 200 ``degraded`` without Redis or storage."""
        readiness = await probe_readiness(state)
        return Response(readiness, status_code=503 if readiness.status == "unavailable" else 200)


async def probe_readiness(state: State) -> Readiness:
    """Probe every dependency and record the outcome in the metrics."""
    checks: dict[str, str] = {}
    database: Database = state.database
    checks["database"] = await _probe(_db_probe(database))
    if state.redis is not None:
        checks["redis"] = await _probe(state.redis.ping())
        hub = state.get("hub")
        if hub is not None and checks["redis"] == "ok" and hub.degraded:
            checks["redis"] = "error: pokes across replicas are catching up"
    checks["storage"] = await _probe(state.storage.check())
    down = sorted(name for name, result in checks.items() if result != "ok")
    if any(name in _REQUIRED for name in down):
        status = "unavailable"
    else:
        status = "degraded" if down else "ok"
    for name, result in checks.items():
        DEPENDENCY_UP.labels(dependency=name).set(1 if result == "ok" else 0)
    READY_STATE.set(_STATE_VALUE[status])
    return Readiness(status=status, checks=checks, degraded=[n for n in down if n not in _REQUIRED])


async def _db_probe(database: Database) -> None:
    async with database.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _probe(awaitable: Any) -> str:
    try:
        await asyncio.wait_for(awaitable, timeout=3)
    except Exception as exc:  # readiness reports any failure as a state, never raises
        return f"error: {type(exc).__name__}"
    return "ok"
