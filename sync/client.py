"""Reference sync client: local SQLite store, offline mutation queue, pull/push/poke loop.

Used by the tests and load tests, and as a model for the mini-program and app clients::

    async with httpx.AsyncClient(base_url="https://api.example.com") as http:
        client = SyncClient(http, token, "dealer.db")
        client.enqueue("order.place", {...}, business_key=order_id)  # works offline
        await client.sync()                    # push the queue, then pull to the head
        await client.listen(stop)              # WebSocket pokes -> pull; reconnects
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import websockets

from sync.schemas import PROTOCOL_VERSION

__all__ = ["SyncClient", "SyncClientError"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursor (scope TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS item (
    scope TEXT NOT NULL, entity TEXT NOT NULL, key TEXT NOT NULL, data TEXT,
    version INTEGER NOT NULL, PRIMARY KEY (scope, entity, key));
CREATE TABLE IF NOT EXISTS outbox (
    mid INTEGER PRIMARY KEY, name TEXT NOT NULL, args TEXT NOT NULL, business_key TEXT);
CREATE TABLE IF NOT EXISTS outcome (
    mid INTEGER PRIMARY KEY, name TEXT NOT NULL, business_key TEXT, status TEXT NOT NULL,
    reason TEXT, detail TEXT);
"""


class SyncClientError(Exception):
    """The server answered an error (``problem`` is its problem+json body)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('code')}: {problem.get('detail')}")
        self.status = status
        self.problem = problem

    @property
    def code(self) -> str | None:
        """The server's stable error code."""
        code = self.problem.get("code")
        return code if isinstance(code, str) else None


class SyncClient:
    """One channel node: a local replica of its scopes and a queue of its own mutations."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token: str,
        store: str | Path = ":memory:",
        *,
        client_id: str | None = None,
        page_size: int = 500,
    ) -> None:
        self.http = http
        self.token = token
        self.page_size = page_size
        self.db = sqlite3.connect(str(store), isolation_level=None)
        self.db.executescript(_SCHEMA)
        stored = self._meta("client_id")
        if stored is None:
            stored = client_id or uuid.uuid4().hex
            self._set_meta("client_id", stored)
        self.client_id = stored
        self.upgrade_required = False

    # -- local store -------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @contextlib.contextmanager
    def _transaction(self) -> Generator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def cursor(self) -> dict[str, int]:
        """The local cursor ``{scope: version}``."""
        return {s: int(v) for s, v in self.db.execute("SELECT scope, version FROM cursor")}

    def state(self, scope: str) -> dict[tuple[str, str], Any]:
        """The local replica of ``scope``: ``{(entity, key): data}``."""
        rows = self.db.execute("SELECT entity, key, data FROM item WHERE scope = ?", (scope,))
        return {(e, k): None if d is None else json.loads(d) for e, k, d in rows}

    def scopes(self) -> set[str]:
        """Scopes with local data or a cursor."""
        rows = self.db.execute("SELECT scope FROM cursor UNION SELECT scope FROM item")
        return {str(r[0]) for r in rows}

    def enqueue(self, name: str, args: Any, business_key: str | None = None) -> int:
        """Queue a mutation locally (works offline); returns its mid."""
        with self._transaction():
            row = self.db.execute(
                "SELECT max(m) FROM (SELECT max(mid) AS m FROM outbox "
                "UNION ALL SELECT max(mid) FROM outcome)"
            ).fetchone()
            mid = int(row[0] or 0) + 1 if row else 1
            self.db.execute(
                "INSERT INTO outbox (mid, name, args, business_key) VALUES (?, ?, ?, ?)",
                (mid, name, msgspec.json.encode(args).decode(), business_key),
            )
        return mid

    def pending(self) -> list[int]:
        """Mids still waiting for an outcome."""
        return [int(r[0]) for r in self.db.execute("SELECT mid FROM outbox ORDER BY mid")]

    def outcomes(self) -> dict[int, dict[str, Any]]:
        """Stored outcomes by mid."""
        rows = self.db.execute(
            "SELECT mid, name, business_key, status, reason, detail FROM outcome"
        )
        return {
            int(mid): {
                "name": name,
                "businessKey": bk,
                "status": status,
                "reason": reason,
                "detail": None if detail is None else json.loads(detail),
            }
            for mid, name, bk, status, reason, detail in rows
        }

    # -- network -----------------------------------------------------------------------

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = await self.http.post(
            path,
            content=msgspec.json.encode(body),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "X-Sync-Protocol": str(PROTOCOL_VERSION),
            },
        )
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"code": "http_error", "detail": response.text}
            raise SyncClientError(response.status_code, problem)
        return response.json() if response.content else None

    async def push(self, batch: int = 100) -> int:
        """Send queued mutations in mid order; store their outcomes; returns how many."""
        done = 0
        while True:
            rows = self.db.execute(
                "SELECT mid, name, args, business_key FROM outbox ORDER BY mid LIMIT ?", (batch,)
            ).fetchall()
            if not rows:
                return done
            answer = await self._post(
                "/sync/push",
                {
                    "clientId": self.client_id,
                    "protocol": PROTOCOL_VERSION,
                    "mutations": [
                        {"mid": mid, "name": name, "args": json.loads(args), "businessKey": bk}
                        for mid, name, args, bk in rows
                    ],
                },
            )
            self.upgrade_required = bool(answer.get("upgradeRequired"))
            sent = {int(r[0]): r for r in rows}
            with self._transaction():
                for result in answer["results"]:
                    mid = int(result["mid"])
                    _, name, _, bk = sent[mid]
                    detail = result.get("detail")
                    self.db.execute(
                        "INSERT OR REPLACE INTO outcome VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            mid,
                            name,
                            bk,
                            result["status"],
                            result.get("reason"),
                            None if detail is None else json.dumps(detail),
                        ),
                    )
                    self.db.execute("DELETE FROM outbox WHERE mid = ?", (mid,))
            done += len(answer["results"])

    async def pull(self) -> int:
        """Pull until the server has nothing more; returns the number of changes applied."""
        applied = 0
        while True:
            try:
                answer = await self._post(
                    "/sync/pull",
                    {
                        "cursor": self.cursor(),
                        "limit": self.page_size,
                        "clientId": self.client_id,
                        "protocol": PROTOCOL_VERSION,
                    },
                )
            except SyncClientError as exc:
                if exc.code != "cursor_ahead":
                    raise
                # The server lost history we had (restored backup): start the scope afresh.
                self._forget(str(exc.problem.get("scope")))
                continue
            applied += self._apply(answer)
            if not answer["hasMore"]:
                return applied

    def _forget(self, scope: str) -> None:
        with self._transaction():
            self.db.execute("DELETE FROM item WHERE scope = ?", (scope,))
            self.db.execute("DELETE FROM cursor WHERE scope = ?", (scope,))

    def _apply(self, answer: dict[str, Any]) -> int:
        with self._transaction():
            for scope in [*answer["resets"], *answer["dropped"]]:
                self.db.execute("DELETE FROM item WHERE scope = ?", (scope,))
            for scope in answer["dropped"]:
                self.db.execute("DELETE FROM cursor WHERE scope = ?", (scope,))
            for c in answer["changes"]:
                if c["op"] == "delete":
                    self.db.execute(
                        "DELETE FROM item WHERE scope = ? AND entity = ? AND key = ?",
                        (c["scope"], c["entity"], c["key"]),
                    )
                else:
                    self.db.execute(
                        "INSERT OR REPLACE INTO item VALUES (?, ?, ?, ?, ?)",
                        (c["scope"], c["entity"], c["key"], json.dumps(c["data"]), c["version"]),
                    )
            for scope, version in answer["cursor"].items():
                self.db.execute(
                    "INSERT OR REPLACE INTO cursor (scope, version) VALUES (?, ?)",
                    (scope, int(version)),
                )
        return len(answer["changes"])

    async def sync(self) -> None:
        """Push the queue, then pull to the head (call on start, reconnect and foreground)."""
        await self.push()
        await self.pull()

    async def listen(self, stop: asyncio.Event, *, ws_url: str, retry: float = 1.0) -> None:
        """Hold a WebSocket for pokes; pull on connect and on each poke ahead of the cursor.

        Reconnects with jittered exponential backoff (``retry`` doubling up to 60 s).
        """
        delay = retry
        while not stop.is_set():
            try:
                async with websockets.connect(
                    f"{ws_url}?token={self.token}&protocol={PROTOCOL_VERSION}", compression=None
                ) as ws:
                    await self.sync()
                    while not stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.5)
                        except TimeoutError:
                            continue
                        message = json.loads(raw)
                        if message.get("type") == "hello":
                            delay = retry  # served: an error frame would come instead
                        elif message.get("type") == "poke":
                            local = self.cursor().get(message["scope"])
                            if local is None or local < int(message["version"]):
                                await self.pull()
            except Exception:  # offline, server restarting, token refresh: retry after a pause
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay * (0.5 + random.random()))
                delay = min(delay * 2, 60.0)

    def close(self) -> None:
        """Close the local store."""
        self.db.close()
