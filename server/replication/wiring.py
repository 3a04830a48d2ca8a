"""Plumbing between the app and the sync engine: principal, errors, background loops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx
import structlog
from litestar import Request, Response, WebSocket
from litestar.datastructures import State
from litestar.types import Scope

from server.db.engine import Database
from server.db.errors import is_transient
from server.errors import ChannelhubError, Unauthorized, problem
from server.identity.principal import Principal
from server.notifications import install_notifications
from server.orders import discard_order_changes
from server.replication.publications import publish_pending
from server.replication.scopes import scopes_for
from server.trail import install_trail
from sync import (
    Hub,
    SyncError,
    SyncForbidden,
    SyncPrincipal,
    SyncUnauthorized,
    SyncUnavailable,
    compact,
    deliver_due_webhooks,
    discard_pokes,
    scope_versions,
)

log = structlog.get_logger("channelhub.sync")


async def provide_sync_principal(state: State, scope: Scope) -> SyncPrincipal:
    """The caller as the sync engine sees it: its scopes are recomputed on every call."""
    principal = scope.get("user")
    if not isinstance(principal, Principal):
        error = scope.get("state", {}).get("channelhub.auth_error")
        raise error if error is not None else Unauthorized()
    database: Database = state.database
    async with database.session(write=False) as session:
        scopes = await scopes_for(session, principal)
    return SyncPrincipal(
        subject_id=str(principal.user_id),
        dealer_id=str(principal.dealer_id) if principal.dealer_id else None,
        scopes=scopes,
        role=str(principal.role),
    )


async def socket_principal(socket: WebSocket[Any, Any, Any]) -> SyncPrincipal:
    """The caller of a realtime connect (``?token=``): scopes recomputed, as on every pull."""
    return await provide_sync_principal(socket.app.state, socket.scope)


def handle_sync_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Sync's errors in the API's one problem+json shape."""
    assert isinstance(exc, SyncError)
    headers = {"Retry-After": "1"} if exc.status_code == 503 else None
    return problem(
        request,
        exc.status_code,
        exc.code,
        exc.message_zh,
        exc.message_en,
        headers=headers,
        extra=exc.extra or None,
    )


def socket_refusal(exc: Exception) -> SyncError | None:
    """The server's own refusal of a WebSocket connect (a token error) in the sync protocol's
    terms: the client gets the problem in an ``error`` frame and close code 4000 + its status.
    Sync itself names transient database errors (4503)."""
    if isinstance(exc, ChannelhubError):
        kinds = {401: SyncUnauthorized, 403: SyncForbidden, 503: SyncUnavailable}
        kind = kinds.get(exc.status)
        return kind(exc.en, exc.zh, code=exc.code, extra=exc.extra) if kind else None
    return None


class SyncHousekeeping:
    """In-process loops: deliver webhooks every few seconds, compact the change log daily."""

    def __init__(self, database: Database, retention: timedelta, interval: float = 2.0) -> None:
        self.database = database
        self.retention = retention
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sync-housekeeping")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_compaction = loop.time() + 60
        async with httpx.AsyncClient(timeout=10) as http:
            while True:
                try:
                    await deliver_due_webhooks(self.database.sessionmaker, http)
                    if loop.time() >= next_compaction:
                        async with self.database.sessionmaker.begin() as session:
                            floors = await compact(session, retention=self.retention)
                        log.info("sync_compacted", scopes=len(floors))
                        next_compaction = loop.time() + 24 * 3600
                except Exception as exc:
                    if is_transient(exc):  # the database blinked: one line, no traceback
                        log.warning("sync_housekeeping_unavailable", error=type(exc).__name__)
                    else:
                        log.exception("sync_housekeeping_failed")
                await asyncio.sleep(self.interval)


def install_sync_hooks(database: Database, hub: Hub) -> None:
    """Every transaction of this database publishes before and pokes after its commit; the
    hub reads current scope versions here to re-poke its clients after a Redis outage."""

    async def versions(scopes: frozenset[str]) -> Mapping[str, int]:
        async with database.session(write=False) as session:
            return await scope_versions(session, scopes)

    hub.versions = versions
    database.before_commit.append(publish_pending)
    database.after_commit.append(hub.flush_pokes)
    database.on_rollback.append(discard_pokes)
    database.on_rollback.append(discard_order_changes)
    install_notifications(database)  # inbox items publish; the fan-out job is queued
    install_trail(database)  # the last pre-commit hook: the chain head is the last lock
