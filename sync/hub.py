"""Realtime pokes: the Hub fans ``{scope, version}`` out to WebSocket and SSE connections.

Measured (see FACTS.md) and followed here: each poke is encoded once per transport, sends
run in one plain sequential loop with no task per connection, and pokes coalesce per
connection (latest version per scope wins). A send that cannot complete at once (the
client stopped reading and the transport paused writing) is parked in a task of its own,
so it never stalls the loop; if it is still parked after ``send_timeout`` the connection
is dropped; a WebSocket client dropped so is told with close code 4408 ``slow_consumer`` when
it reads again within ``close_timeout`` (see PROTOCOL.md: reconnect and pull). A send parks only
once the kernel holds some hundred KB for the socket and the transport's buffer is past its
high-water mark (64 KiB of frames): measured, a client that stops reading costs the process about
0.6 MB until it is dropped (tests/faults/test_real_services.py). Most such clients are closed
earlier by the server's WebSocket keepalive (no pong within 20 s: 1011), unless pokes pile up
faster than that.

Across API processes a ``RedisPokeBackend`` relays pokes through Redis pub/sub. Redis is an
accelerator, never a single point of failure:

- pokes are delivered to this process's connections at once, whether Redis answers or not;
- pokes that could not be published are kept (latest version per scope) and published again
  every second until Redis takes them, so other processes hear of them when it returns;
- when the subscription comes back after a failure, the hub re-pokes every local connection
  with the current version of its scopes (read by ``versions``), so no node stays behind on a
  publication another process could not relay while the channel was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Generator, Iterable, Mapping
from typing import Any, Literal, Protocol

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from sync.feed import take_pokes
from sync.schemas import Poke
from sync.settings import SyncSettings

__all__ = [
    "SLOW_CONSUMER_CLOSE",
    "Connection",
    "Hub",
    "InProcessPokeBackend",
    "PokeBackend",
    "RedisPokeBackend",
]

log = logging.getLogger(__name__)

Kind = Literal["ws", "sse"]
Message = dict[str, Any]
Send = Callable[[Message], Coroutine[Any, Any, None]]
Deliver = Callable[[Mapping[str, int]], None]
Reconnected = Callable[[], None]
Versions = Callable[[frozenset[str]], Coroutine[Any, Any, Mapping[str, int]]]
SLOW_CONSUMER_CLOSE = 4408
"""WebSocket close code for a client dropped because it stopped reading: reconnect and pull."""

_json = msgspec.json.Encoder()
_pokes_decoder = msgspec.json.Decoder(dict[str, int])


def _poke_message(kind: Kind, scope: str, version: int) -> Message:
    body = _json.encode(Poke(scope=scope, version=version))
    if kind == "ws":
        return {"type": "websocket.send", "text": body.decode()}
    return {
        "type": "http.response.body",
        "body": b"event: poke\ndata: " + body + b"\n\n",
        "more_body": True,
    }


_HEARTBEAT: dict[Kind, Message] = {
    "ws": {"type": "websocket.send", "text": '{"type":"heartbeat"}'},
    "sse": {"type": "http.response.body", "body": b": heartbeat\n\n", "more_body": True},
}


class _Resume:
    """Await a coroutine that was already stepped once and yielded ``pending``."""

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[Any, Any, None], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, None, None]:
        try:
            yield self._pending
        except BaseException:
            self._coro.close()
            raise
        # ``yield from`` resumes the coroutine where it suspended, then keeps delegating.
        yield from self._coro.__await__()


class Connection:
    """One realtime subscriber: its scopes, its raw ASGI ``send`` and coalesced pokes."""

    __slots__ = (
        "busy_since",
        "closed",
        "inflight",
        "kind",
        "owner",
        "pending",
        "scopes",
        "send",
    )

    def __init__(
        self,
        kind: Kind,
        scopes: frozenset[str],
        send: Send,
        owner: asyncio.Task[Any] | None = None,
    ) -> None:
        self.kind: Kind = kind
        self.scopes = scopes
        self.send = send
        self.pending: dict[str, int] = {}
        self.inflight: asyncio.Task[None] | None = None
        self.busy_since = 0.0
        self.closed = False
        # The task serving this connection; cancelled when the hub drops the connection.
        self.owner = owner


class PokeBackend(Protocol):
    """Carries pokes to every Hub (every API process) that shares the backend."""

    healthy: bool

    async def start(self, deliver: Deliver, reconnected: Reconnected) -> None: ...
    async def publish(self, pokes: Mapping[str, int]) -> None: ...
    async def stop(self) -> None: ...


class InProcessPokeBackend:
    """Pokes stay in this process (the embedded default): the hub delivers them itself."""

    healthy = True

    async def start(self, deliver: Deliver, reconnected: Reconnected) -> None:
        del deliver, reconnected

    async def publish(self, pokes: Mapping[str, int]) -> None:
        del pokes

    async def stop(self) -> None:
        return None


class RedisPokeBackend:
    """Pokes go through one Redis pub/sub channel to every API process.

    ``start`` never fails on a Redis that is down: the reader keeps (re)subscribing, and calls
    ``reconnected`` each time the subscription is back after a failure. ``healthy`` says
    whether the subscription is up; a failed publish raises and is the hub's to keep and retry
    (only the reader, which re-subscribes, may say the channel is back, so a publish that fails
    must not mark it down: nothing would mark it up again while the subscription holds).
    """

    def __init__(
        self, url: str, channel: str = "channelhub:sync:pokes", *, timeout: float = 2.0
    ) -> None:
        self.url = url
        self.channel = channel
        self.timeout = timeout
        self.healthy = False
        self._redis: Redis | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, deliver: Deliver, reconnected: Reconnected) -> None:
        self._redis = Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
            self.url, socket_connect_timeout=self.timeout, socket_timeout=self.timeout
        )
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # pyright: ignore[reportUnknownMemberType]
        try:
            await pubsub.subscribe(self.channel)  # before returning: no later poke is lost
            self.healthy = True
        except (RedisError, OSError):
            log.warning("redis poke subscription unavailable at start; retrying", exc_info=True)
        self._reader = asyncio.create_task(
            self._read(pubsub, deliver, reconnected), name="sync-redis-pokes"
        )

    async def _read(self, pubsub: Any, deliver: Deliver, reconnected: Reconnected) -> None:
        subscribed = self.healthy
        while True:
            try:
                if not subscribed:
                    await pubsub.subscribe(self.channel)
                    subscribed = True
                    self.healthy = True
                    log.warning("redis poke subscription is back; re-poking local connections")
                    reconnected()
                message = await pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "message":
                    deliver(_pokes_decoder.decode(message["data"]))
            except (RedisError, OSError):
                # Local pokes go on without Redis; re-poke everyone when it is back.
                if subscribed:
                    log.warning("redis poke subscription failed; retrying", exc_info=True)
                subscribed = self.healthy = False
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # pyright: ignore[reportOptionalMemberAccess, reportUnknownMemberType]
                await asyncio.sleep(1.0)
            except msgspec.DecodeError:
                log.warning("ignoring malformed poke message")

    async def publish(self, pokes: Mapping[str, int]) -> None:
        if self._redis is None:
            raise RuntimeError("RedisPokeBackend.publish before start")
        await self._redis.publish(self.channel, _json.encode(dict(pokes)))  # pyright: ignore[reportUnknownMemberType]

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


class Hub:
    """Realtime fan-out of pokes to this process's connections (start it in the lifespan)."""

    def __init__(
        self,
        backend: PokeBackend | None = None,
        *,
        heartbeat_interval: float = 25.0,
        send_timeout: float = 5.0,
        versions: Versions | None = None,
        close_timeout: float = 10.0,
    ) -> None:
        self.backend: PokeBackend = backend or InProcessPokeBackend()
        self.heartbeat_interval = heartbeat_interval
        self.send_timeout = send_timeout
        # Current version of each scope (the server reads sync_scope): used to re-poke every
        # local connection when the cross-process channel comes back.
        self.versions = versions
        # How long a dropped slow WebSocket client has to read its close frame (4408).
        self.close_timeout = close_timeout
        self._latest: dict[str, int] = {}
        self._unsent: dict[str, int] = {}
        self._resync_wanted = False
        self.resyncs = 0
        self._by_scope: dict[str, set[Connection]] = {}
        self._dirty: dict[Connection, None] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listeners: set[Callable[[Mapping[str, int]], None]] = set()
        self.dropped = 0

    @classmethod
    def from_url(
        cls,
        redis_url: str | None,
        *,
        heartbeat_interval: float = 25.0,
        send_timeout: float = 5.0,
    ) -> Hub:
        """A hub on Redis pub/sub if ``redis_url`` is set, else in-process."""
        backend = RedisPokeBackend(redis_url) if redis_url else InProcessPokeBackend()
        return cls(backend, heartbeat_interval=heartbeat_interval, send_timeout=send_timeout)

    @classmethod
    def from_settings(cls, settings: SyncSettings) -> Hub:
        """The hub ``settings`` describe (Redis pub/sub if ``redis_url`` is set)."""
        return cls.from_url(
            settings.redis_url,
            heartbeat_interval=settings.heartbeat_interval,
            send_timeout=settings.send_timeout,
        )

    async def start(self) -> None:
        """Start the backend, the dispatch loop and the heartbeats."""
        await self.backend.start(self.deliver, self._reconnected)
        self._tasks = [
            asyncio.create_task(self._dispatch_loop(), name="sync-hub-dispatch"),
            asyncio.create_task(self._heartbeat_loop(), name="sync-hub-heartbeat"),
            asyncio.create_task(self._repair_loop(), name="sync-hub-repair"),
        ]

    async def stop(self) -> None:
        """Stop the loops and the backend; connections are left to their handlers."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.backend.stop()

    async def flush_pokes(self, session: AsyncSession) -> None:
        """Send the pokes of ``session``'s committed transaction (call only after the commit)."""
        pokes = take_pokes(session)
        if pokes:
            await self.publish(pokes)

    async def publish(self, pokes: Mapping[str, int]) -> None:
        """Poke this process's subscribers at once, and every other process's through the
        backend; what the backend cannot take now is published again when it can."""
        self.deliver(pokes)
        try:
            await self.backend.publish(pokes)
        except (RedisError, OSError):
            log.warning("could not publish pokes %s; kept for later", dict(pokes), exc_info=True)
            for scope, version in pokes.items():
                if self._unsent.get(scope, 0) < version:
                    self._unsent[scope] = version

    @property
    def degraded(self) -> bool:
        """Whether the cross-process channel is down or pokes wait to be relayed through it
        (other processes have not heard of them yet)."""
        return not self.backend.healthy or bool(self._unsent)

    def _reconnected(self) -> None:
        self._resync_wanted = True

    async def _repair_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self._repair()
            except Exception:  # a bug here must not end realtime for the whole process
                log.exception("poke repair failed")

    async def _repair(self) -> None:
        if self._unsent:
            unsent, self._unsent = self._unsent, {}
            try:
                await self.backend.publish(unsent)
                log.warning("published %d kept pokes", len(unsent))
            except (RedisError, OSError):
                for scope, version in unsent.items():
                    self._unsent[scope] = max(version, self._unsent.get(scope, 0))
        if self._resync_wanted:
            self._resync_wanted = False
            await self.resync()

    async def resync(self) -> None:
        """Re-poke every local connection with the current version of its scopes."""
        if self.versions is None or not self._by_scope:
            return
        try:
            current = await self.versions(frozenset(self._by_scope))
        except Exception:
            self._resync_wanted = True  # the database may be down too: try again next round
            log.warning("could not read scope versions to re-poke", exc_info=True)
            return
        self.resyncs += 1
        for scope, version in current.items():
            self._latest[scope] = max(version, self._latest.get(scope, 0))
            for conn in self._by_scope.get(scope, ()):
                conn.pending[scope] = max(version, conn.pending.get(scope, 0))
                self._dirty[conn] = None
        if self._dirty:
            self._wake.set()

    # -- connections --------------------------------------------------------------------

    def connect(
        self,
        kind: Kind,
        scopes: Iterable[str],
        send: Send,
        owner: asyncio.Task[Any] | None = None,
    ) -> Connection:
        """Register a connection; ``owner`` (the task serving it) is cancelled if it is dropped."""
        conn = Connection(kind, frozenset(scopes), send, owner)
        for scope in conn.scopes:
            self._by_scope.setdefault(scope, set()).add(conn)
        return conn

    def disconnect(self, conn: Connection) -> None:
        """Unregister a connection; idempotent."""
        conn.closed = True
        for scope in conn.scopes:
            subscribers = self._by_scope.get(scope)
            if subscribers is not None:
                subscribers.discard(conn)
                if not subscribers:
                    del self._by_scope[scope]
                    self._latest.pop(scope, None)
        self._dirty.pop(conn, None)
        if conn.inflight is not None:
            conn.inflight.cancel()
            conn.inflight = None

    def connection_count(self) -> int:
        """Connections currently subscribed to at least one scope."""
        return len({c for subscribers in self._by_scope.values() for c in subscribers})

    # -- fan-out -----------------------------------------------------------------------

    def listen(self, listener: Callable[[Mapping[str, int]], None]) -> Callable[[], None]:
        """Call ``listener`` with every batch of pokes this process receives, whatever the
        scope (e.g. a page that refreshes its figures); returns the function that stops it.
        A listener must not block: it runs in the delivery path."""
        self._listeners.add(listener)
        return lambda: self._listeners.discard(listener)

    def deliver(self, pokes: Mapping[str, int]) -> None:
        """Queue pokes for this process's subscribers (its own and the backend's)."""
        for listener in tuple(self._listeners):
            try:
                listener(pokes)
            except Exception:  # a listener's bug must not stop the fan-out
                log.exception("poke listener failed")
        for scope, version in pokes.items():
            if version <= self._latest.get(scope, 0):
                continue  # already delivered here (published by this process, then echoed)
            self._latest[scope] = version
            for conn in self._by_scope.get(scope, ()):
                if conn.pending.get(scope, 0) < version:
                    conn.pending[scope] = version
                    self._dirty[conn] = None
        if self._dirty:
            self._wake.set()

    async def _dispatch_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                self._flush()
            except Exception:  # a bug here must not end realtime for the whole process
                log.exception("poke dispatch failed")

    def _flush(self) -> None:
        dirty, self._dirty = self._dirty, {}
        cache: dict[tuple[Kind, str, int], Message] = {}
        now = time.monotonic()
        for conn in dirty:
            if conn.closed:
                continue
            if conn.inflight is not None:
                if now - conn.busy_since > self.send_timeout:
                    self._drop(conn)
                continue  # its pokes wait, coalesced, until the parked send finishes
            while conn.pending and conn.inflight is None and not conn.closed:
                scope, version = conn.pending.popitem()
                key = (conn.kind, scope, version)
                message = cache.get(key)
                if message is None:
                    message = cache[key] = _poke_message(conn.kind, scope, version)
                self._send(conn, message, now)

    def _send(self, conn: Connection, message: Message, now: float) -> None:
        """Run ``conn.send(message)`` to its first suspension; park it in a task if it suspends."""
        coro = conn.send(message)
        try:
            pending = coro.send(None)
        except StopIteration:
            return
        except Exception:
            self._drop(conn)
            return
        conn.busy_since = now
        task = asyncio.ensure_future(_Resume(coro, pending))
        conn.inflight = task
        task.add_done_callback(lambda t, c=conn: self._parked_done(c, t))

    def _parked_done(self, conn: Connection, task: asyncio.Task[None]) -> None:
        if conn.inflight is task:
            conn.inflight = None
        if task.cancelled():
            return
        if task.exception() is not None:
            self._drop(conn)
        elif conn.pending and not conn.closed:
            self._dirty[conn] = None
            self._wake.set()

    def _drop(self, conn: Connection) -> None:
        """Forget a dead or too slow connection and end the task serving it."""
        if conn.closed:
            return
        self.dropped += 1
        self.disconnect(conn)
        if conn.owner is not None and conn.owner is not asyncio.current_task():
            conn.owner.cancel()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                self.heartbeat()
            except Exception:
                log.exception("heartbeat failed")

    def heartbeat(self) -> None:
        """Send a heartbeat to idle connections and drop those stuck past the send timeout."""
        now = time.monotonic()
        connections = {c for subscribers in self._by_scope.values() for c in subscribers}
        for conn in connections:
            if conn.inflight is not None:
                if now - conn.busy_since > self.send_timeout:
                    self._drop(conn)
            elif not conn.closed:
                self._send(conn, _HEARTBEAT[conn.kind], now)
