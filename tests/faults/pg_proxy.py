"""A TCP proxy in front of PostgreSQL that cuts the connection before the i-th statement.

It reads the client's side of the wire protocol (startup, then typed messages) and counts
statements: simple queries (``Q``) and executes of prepared statements (``E``), whatever
path sent them (SQLAlchemy or asyncpg directly). When the armed statement arrives, both
sockets are aborted before it is forwarded: the client sees a real connection reset, and
the server never ran the statement (so a cut COMMIT is a transaction that did not commit).
The proxy runs its own event loop in a thread: Litestar's test client blocks the test's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading

_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104
_STATEMENTS = frozenset({b"Q", b"E"})


class PgProxy:
    """Forwards 127.0.0.1:``port`` to the PostgreSQL at ``target_port``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.armed: int | None = None
        self.seen = 0
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> None:
        """Listen on a free port, in a thread of its own."""
        ready = threading.Event()

        async def listen() -> None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()

        def run() -> None:
            self._loop.run_until_complete(listen())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="pg-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        async def close() -> None:
            for writer in list(self._writers):
                writer.transport.abort()
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop.close()

    def arm(self, index: int | None) -> None:
        """Cut the connection before the ``index``-th statement from now (None: never)."""
        self.armed, self.seen = index, 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        down = asyncio.create_task(_pump(up_reader, writer))
        try:
            await self._client_to_server(reader, up_writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for w in (writer, up_writer):
                w.transport.abort()
                self._writers.discard(w)
            down.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await down

    async def _client_to_server(
        self, reader: asyncio.StreamReader, up: asyncio.StreamWriter
    ) -> None:
        while True:  # untyped start-up messages: SSL/GSS requests, then the startup packet
            head = await reader.readexactly(4)
            (length,) = struct.unpack("!i", head)
            body = await reader.readexactly(length - 4)
            up.write(head + body)
            code = struct.unpack("!i", body[:4])[0] if len(body) >= 4 else 0
            if code not in (_SSL_REQUEST, _GSS_REQUEST):
                break
        while True:
            kind = await reader.readexactly(1)
            head = await reader.readexactly(4)
            (length,) = struct.unpack("!i", head)
            body = await reader.readexactly(length - 4)
            if kind in _STATEMENTS:
                self.seen += 1
                if self.armed is not None and self.seen == self.armed:
                    self.cuts += 1
                    return  # the caller aborts both sides: this statement never ran
            up.write(kind + head + body)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
    finally:
        writer.close()  # the server hung up: so does the client's side
