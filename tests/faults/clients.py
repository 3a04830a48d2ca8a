"""Clients of the fault suite: order placers that retry as the SDK does, WebSocket nodes.

``PokeNode`` follows PROTOCOL.md with the ``websockets`` library (it reads all the time).
``SilentNode`` is a raw socket that completes the WebSocket handshake and then stops reading,
with the smallest receive buffer and MSS, as on a poor mobile link: the server's kernel then
takes some 100-400 KB of pokes per socket before the application sees back-pressure (on
loopback with its 64 KB MSS it would take megabytes).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests import observed_statuses

ABNORMAL_CLOSURE = 1006
"""What a WebSocket client reports when the connection ended without a close frame."""


def record(response: httpx.Response) -> None:
    """Let the suite's contract check see what the real servers answered, as for test clients."""
    request = response.request
    observed_statuses.observed.add((request.method.lower(), request.url.path, response.status_code))


@dataclass
class Placer:
    """Places orders with client-generated ids and retries 503 after ``Retry-After``."""

    http: httpx.AsyncClient
    headers: dict[str, str]
    statuses: Counter[int] = field(default_factory=Counter)
    placed: dict[str, float] = field(default_factory=dict)
    """Order id -> when its 201 or 200 arrived (monotonic)."""
    refused: dict[str, int] = field(default_factory=dict)
    transport_errors: int = 0
    bad_retry_after: int = 0

    async def place(self, lines: list[dict[str, Any]]) -> None:
        """One order, retried until it is placed or refused for a reason other than 503."""
        order_id = str(uuid.uuid4())
        body = {"id": order_id, "lines": lines}
        while True:
            try:
                answer = await self.http.post("/mp/orders", json=body, headers=self.headers)
            except httpx.TransportError:
                self.transport_errors += 1
                await asyncio.sleep(0.5)
                continue
            record(answer)
            self.statuses[answer.status_code] += 1
            if answer.status_code in (200, 201):
                self.placed[order_id] = time.monotonic()
                return
            if answer.status_code != 503:
                self.refused[order_id] = answer.status_code
                return
            retry_after = answer.headers.get("retry-after", "")
            problem = answer.headers.get("content-type", "").startswith("application/problem+json")
            if not retry_after.isdigit() or not problem:
                self.bad_retry_after += 1
            await asyncio.sleep(int(retry_after) if retry_after.isdigit() else 1)


class PokeNode:
    """A node connected to ``/sync/ws``: the highest version it was poked with, per scope."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: dict[str, int] = {}
        self.hello: dict[str, Any] = {}
        self._socket: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, ws_url: str, token: str) -> None:
        self._socket = await connect(
            f"{ws_url}/sync/ws?token={token}&protocol=1", compression=None, open_timeout=20
        )
        self.hello = json.loads(await self._socket.recv())
        assert self.hello["type"] == "hello", self.hello
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._socket is not None
        with contextlib.suppress(Exception):
            async for message in self._socket:
                body = json.loads(message)
                if body.get("type") == "poke":
                    scope, version = body["scope"], body["version"]
                    self.seen[scope] = max(version, self.seen.get(scope, 0))

    def behind(self, scope: str, version: int) -> bool:
        return self.seen.get(scope, 0) < version

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._socket.close(), 5)


def _frames(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Complete server frames (opcode, payload) at the start of ``data``, and the rest."""
    frames: list[tuple[int, bytes]] = []
    at = 0
    while len(data) - at >= 2:
        opcode, size, head = data[at] & 0x0F, data[at + 1] & 0x7F, at + 2
        assert not data[at + 1] & 0x80, "a server never masks its frames"
        if size >= 126:
            width = 2 if size == 126 else 8
            if len(data) - head < width:
                break
            size = int.from_bytes(data[head : head + width], "big")
            head += width
        if len(data) - head < size:
            break
        frames.append((opcode, data[head : head + size]))
        at = head + size
    return frames, data[at:]


class SilentNode:
    """A WebSocket client that reads nothing after the handshake until :meth:`read_to_end`."""

    RECEIVE_BUFFER = 1  # the kernel rounds it up to its minimum (a few KB)
    MSS = 88  # the smallest Linux accepts

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.RECEIVE_BUFFER)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, self.MSS)
        self.sock.setblocking(False)
        self.buffer = b""
        self.pokes = 0
        self.close_code: int | None = None
        self.close_reason = ""
        self.bytes_read = 0

    async def connect(self, port: int, token: str) -> None:
        loop = asyncio.get_running_loop()
        await loop.sock_connect(self.sock, ("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /sync/ws?token={token}&protocol=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(self.sock, request.encode())
        while b"\r\n\r\n" not in self.buffer:
            chunk = await asyncio.wait_for(loop.sock_recv(self.sock, 4096), 20)
            assert chunk, "closed during the handshake"
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        # From here on it reads nothing: the hello and every poke stay in the socket.

    async def read_to_end(self, seconds: float) -> None:
        """Read again, up to the close frame or the end of the connection (or ``seconds``)."""
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + seconds
        while self.close_code is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                chunk = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), remaining)
            except (TimeoutError, ConnectionError):
                return
            if not chunk:
                self.close_code = self.close_code or ABNORMAL_CLOSURE
                return
            self.bytes_read += len(chunk)
            frames, self.buffer = _frames(self.buffer + chunk)
            for opcode, payload in frames:
                if opcode == 0x1 and b'"poke"' in payload:
                    self.pokes += 1
                elif opcode == 0x8:
                    self.close_code = int.from_bytes(payload[:2], "big") if payload else 1005
                    self.close_reason = payload[2:].decode(errors="replace")

    def close(self) -> None:
        self.sock.close()
