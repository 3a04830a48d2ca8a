"""Structured JSON logs with request ids, and Prometheus metrics."""

from __future__ import annotations

import logging
import sys
import uuid
from typing import TextIO

import structlog
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Gauge

from server.addressing import remember_request_base, request_base_url
from server.messages import language_from_header, set_language
from server.redaction import install_record_redaction, redact_event, remember
from server.settings import Settings
from sync import Hub

REQUEST_ID_HEADER = b"x-request-id"
REALTIME_CONNECTIONS = Gauge(
    "channelhub_realtime_connections", "WebSocket and SSE connections this process holds"
)
REALTIME_DROPPED = Gauge(
    "channelhub_realtime_dropped",
    "Realtime connections this process dropped since it started: they stopped reading "
    "(slow consumers, closed with 4408) or were gone",
)


def record_realtime(hub: Hub) -> None:
    """Put the hub's connection figures in the metrics (read at each scrape)."""
    REALTIME_CONNECTIONS.set(hub.connection_count())
    REALTIME_DROPPED.set(hub.dropped)


# Libraries that log whole URLs (a query may carry a secret) at INFO: warnings only.
QUIET_LOGGERS = ("httpx", "httpcore", "botocore", "boto3", "s3transfer", "urllib3", "aiobotocore")


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """structlog and stdlib logging to one stream, every line redacted of secrets."""
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    remember(configured_secrets(settings), keep=True)
    install_record_redaction()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if settings.log_json
        else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_event,
    ]
    out = stream or sys.stdout
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    _route_stdlib_logging(shared, renderer, out, level)


def configured_secrets(settings: Settings) -> list[str | None]:
    """Every value the settings hold that must never be printed."""
    return [
        settings.auth.jwt_secret,
        settings.wechat.secret,
        settings.storage.s3_secret_key,
        settings.storage.s3_access_key,
    ]


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler this module installs (replaced, never stacked, on reconfiguration)."""


def _route_stdlib_logging(
    shared: list[structlog.typing.Processor],
    renderer: structlog.typing.Processor,
    stream: TextIO,
    level: int,
) -> None:
    handler = _OurHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


class RequestIdMiddleware(ASGIMiddleware):
    """Take the caller's X-Request-ID (or make one), bind it to logs and echo it back.

    Also records the request's language and the address it was sent to.
    """

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")) -> None:
        self.trusted_proxies = trusted_proxies

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request_id, language = "", None
        for name, value in scope.get("headers", []):
            if name == REQUEST_ID_HEADER:
                candidate = value.decode("latin-1")[:64]
                if candidate.isprintable():
                    request_id = candidate
            elif name == b"accept-language":
                language = value.decode("latin-1")
        set_language(language_from_header(language))
        remember_request_base(request_base_url(scope, self.trusted_proxies))
        request_id = request_id or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id  # type: ignore[typeddict-item]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id, path=scope.get("path"), method=scope.get("method", "WS")
        )

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await next_app(scope, receive, send_with_id)
