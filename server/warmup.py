"""Answer ``/health`` at once while the application loads behind it.

Importing and building the whole application (SQLAlchemy models, Litestar routes, pricing,
OCR's parsing tables) costs seconds of CPU. A server that answers nothing meanwhile looks
dead to an orchestrator, so :class:`WarmingApp` finishes the ASGI start-up immediately,
builds the real application in a thread, runs its lifespan, and then hands every request to
it. Until then ``/health`` says ``starting`` (the process is alive), ``/ready`` answers 503
(it cannot serve yet), anything else answers 503 problem+json with ``Retry-After``, and a
WebSocket gets the same problem in an ``error`` frame and close code 4503.
If the real application fails to start, ``/health`` turns 503 too, so the process is
replaced.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import structlog

from server.messages import language_from_header, render

log = structlog.get_logger("channelhub.warmup")

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]

RETRY_AFTER_SECONDS = 2


class WarmingApp:
    """An ASGI app that serves liveness while ``build()`` makes the real app in a thread."""

    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self.build = build
        self.app: ASGIApp | None = None
        self.failed: str | None = None
        self._loading: asyncio.Task[None] | None = None
        self._inner_receive: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._inner_send: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._inner_lifespan: asyncio.Task[Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif self.app is not None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await _refuse_socket_while_warming(receive, send)
        else:
            await self._answer_while_warming(scope, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        self._loading = asyncio.create_task(self._load(), name="channelhub-warmup")
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await self._shutdown()
        await send({"type": "lifespan.shutdown.complete"})

    async def _load(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            app = await asyncio.to_thread(self.build)
            lifespan_scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
            self._inner_lifespan = asyncio.create_task(
                app(lifespan_scope, self._inner_receive.get, self._inner_send.put)
            )
            await self._inner_receive.put({"type": "lifespan.startup"})
            answer = await self._inner_send.get()
        except Exception as exc:  # any failure to build is reported by /health, then logged
            self.failed = f"{type(exc).__name__}: {exc}"
            log.exception("startup_failed")
            return
        if answer["type"] != "lifespan.startup.complete":
            self.failed = str(answer.get("message") or "startup failed")
            log.error("startup_failed", message=self.failed)
            return
        self.app = app
        log.info("ready", seconds=round(loop.time() - started, 2))

    async def _shutdown(self) -> None:
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        if self.app is not None and self._inner_lifespan is not None:
            await self._inner_receive.put({"type": "lifespan.shutdown"})
            await self._inner_send.get()
            await self._inner_lifespan

    async def _answer_while_warming(self, scope: Scope, send: Send) -> None:
        path = scope.get("path", "")
        if path == "/health":
            status = 503 if self.failed else 200
            body: dict[str, Any] = {"status": "failed" if self.failed else "starting"}
            await _send_json(send, status, body, "application/json")
            return
        if path == "/ready":
            state = "failed" if self.failed else "starting"
            body = {"status": "unavailable", "checks": {"app": state}}
            await _send_json(send, 503, body, "application/json")
            return
        header = dict(scope.get("headers") or []).get(b"accept-language", b"")
        message = render("starting", language_from_header(header.decode("latin-1")))
        body = {
            "type": "urn:channelhub:problem:starting",
            "title": message,
            "status": 503,
            "code": "starting",
            "detail": message,
            "instance": path,
        }
        await _send_json(send, 503, body, "application/problem+json")


async def _refuse_socket_while_warming(receive: Receive, send: Send) -> None:
    """Accept, say ``starting`` in an error frame and close with 4503 (sync/PROTOCOL.md): a
    close before the handshake reaches the client only as a failed connection."""
    await receive()  # websocket.connect
    frame = {
        "type": "error",
        "title": render("starting", "en"),
        "status": 503,
        "code": "starting",
        "detail": render("starting", "en"),
        "message": {"zh-CN": render("starting", "zh"), "en": render("starting", "en")},
    }
    await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
    await send({"type": "websocket.send", "text": json.dumps(frame, ensure_ascii=False)})
    await send({"type": "websocket.close", "code": 4503, "reason": "starting"})


async def _send_json(send: Send, status: int, body: dict[str, Any], media_type: str) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    headers = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(data)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if status == 503:
        headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
