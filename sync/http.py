"""Litestar routes of the sync protocol: pull, push, ack, SSE and WebSocket pokes.

The server provides two app-wide dependencies: ``db_session`` (its per-request
``AsyncSession``, committed by the server after the handler) and ``sync_principal`` (a
``SyncPrincipal`` from the bearer token, or from the ``token`` query parameter on the
realtime endpoints). Handlers never commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, cast

import msgspec
from litestar import Request, Response, Router, WebSocket, get, post, websocket
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import WebsocketRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import QueryParameter
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from sync.delivery import record_ack
from sync.errors import (
    SyncBadRequest,
    SyncError,
    SyncForbidden,
    SyncInvalid,
    SyncUnauthorized,
    SyncUnsupportedMedia,
    SyncUpgradeRequired,
    is_transient_db_error,
    unavailable,
)
from sync.hub import SLOW_CONSUMER_CLOSE, Hub, Kind
from sync.hub import Send as HubSend
from sync.openapi import ack_body, json_schema, mutation_union, operation_with_body, pull_body
from sync.pull import pull
from sync.push import push
from sync.registry import MutationRegistry
from sync.schemas import (
    CONTROL_RULE,
    PROTOCOL_VERSION,
    SUPPORTED_PROTOCOLS,
    AckRequest,
    PullRequest,
    PullResult,
    PushRequest,
    PushResult,
    SyncPrincipal,
)
from sync.settings import SyncSettings

__all__ = [
    "MSGPACK",
    "PROTOCOL_HEADER",
    "SocketPrincipal",
    "SocketRefusal",
    "create_sync_router",
    "hold_connection",
]

MSGPACK = "application/msgpack"
PROTOCOL_HEADER = "x-sync-protocol"
_MSGPACK_TYPES = (MSGPACK, "application/x-msgpack", "application/vnd.msgpack")
_json = msgspec.json.Encoder()
_msgpack = msgspec.msgpack.Encoder()
T = TypeVar("T")


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _is_msgpack(content_type: str | None) -> bool:
    return _media_type(content_type) in _MSGPACK_TYPES


def _is_json(content_type: str | None) -> bool:
    """JSON, or no declared type (the protocol's default)."""
    media = _media_type(content_type)
    return media in ("", "application/json") or media.endswith("+json")


def _invalid(exc: msgspec.ValidationError) -> SyncInvalid:
    """422 naming the field; a control character gets its own words in both languages."""
    message = str(exc)
    where = re.search(r"`\$\.?([^`]*)`$", message)
    field = (where.group(1) if where else "") + (" (key)" if " - at `key` in " in message else "")
    error = {"key": field, "message": message.partition(" - at `")[0]}
    if f"matching regex {CONTROL_RULE!r}" in message:
        error["code"] = "control_characters"
        return SyncInvalid(
            f"Field {field} must not contain control characters (such as NUL)",
            f"字段 {field} 不能包含控制字符（如 NUL）",
            extra={"errors": [error]},
        )
    return SyncInvalid(
        f"Invalid request: {message}", f"请求内容不符合协议：{message}", extra={"errors": [error]}
    )


async def _decode(request: Request[Any, Any, Any], body_type: type[T]) -> T:
    content_type = request.headers.get("content-type")
    if not (_is_msgpack(content_type) or _is_json(content_type)):
        raise SyncUnsupportedMedia(
            "The body must be JSON or MessagePack",
            "请求体须为 JSON 或 MessagePack",
            extra={"contentType": _media_type(content_type)},
        )
    body = await request.body()
    try:
        if _is_msgpack(content_type):
            return msgspec.msgpack.decode(body, type=body_type)
        return msgspec.json.decode(body, type=body_type)
    except msgspec.ValidationError as exc:
        raise _invalid(exc) from exc
    except msgspec.DecodeError as exc:
        raise SyncBadRequest(
            "Malformed request body (JSON or MessagePack expected)",
            "请求体无法解析（应为 JSON 或 MessagePack）",
            code="malformed_body",
        ) from exc


def _wants_msgpack(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept")
    if accept is None:
        return _is_msgpack(request.headers.get("content-type"))
    return any(_is_msgpack(part) for part in accept.split(","))


def _protocol(header: str | None, field: int | None) -> int | None:
    if field is not None:
        return field
    value = (header or "").strip()
    # ASCII digits only, and few of them: "²".isdigit() is true and int() refuses it, and
    # int() refuses thousands of digits; anything else is simply not a supported version.
    if value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return None


def _upgrade_required(protocol: int | None) -> SyncUpgradeRequired:
    if protocol is None:
        en = f"The request names no protocol version; use version {PROTOCOL_VERSION}"
        zh = f"请求未注明同步协议版本，请升级到版本 {PROTOCOL_VERSION}"
    else:
        en = f"Protocol version {protocol} is not supported; use version {PROTOCOL_VERSION}"
        zh = f"同步协议版本 {protocol} 已不受支持，请升级到版本 {PROTOCOL_VERSION}"
    return SyncUpgradeRequired(en, zh, extra={"supported": sorted(SUPPORTED_PROTOCOLS)})


def _encode_pull(result: PullResult, msgpack: bool) -> bytes:
    if not msgpack:
        return _json.encode(result)
    # Payloads are stored as JSON; MessagePack clients get them decoded and re-encoded.
    changes = [
        {
            "scope": c.scope,
            "version": c.version,
            "entity": c.entity,
            "key": c.key,
            "op": c.op,
            "data": None if c.data is None else msgspec.json.decode(c.data),
        }
        for c in result.changes
    ]
    body = msgspec.to_builtins(msgspec.structs.replace(result, changes=[]))
    body["changes"] = changes
    return _msgpack.encode(body)


GZIP_MIN_BYTES = 1024
"""Answers at least this long are gzipped for clients that accept it (smaller ones gain less
than gzip's header and CPU cost)."""
_REFUSED = re.compile(r"\s*q\s*=\s*0(\.0{0,3})?\s*")


def _accepts_gzip(request: Request[Any, Any, Any]) -> bool:
    """``Accept-Encoding`` names gzip (or ``*``) without ``q=0``."""
    for part in (request.headers.get("accept-encoding") or "").split(",")[:32]:
        coding, _, params = part.partition(";")
        if coding.strip().lower() in ("gzip", "*") and not _REFUSED.fullmatch(params):
            return True
    return False


def _answer(request: Request[Any, Any, Any], content: bytes, msgpack: bool) -> Response[bytes]:
    headers = {"X-Sync-Protocol": str(PROTOCOL_VERSION), "Vary": "Accept, Accept-Encoding"}
    if len(content) >= GZIP_MIN_BYTES and _accepts_gzip(request):
        # A first pull's page of prices shrinks about 17-fold (mostly repeated field names).
        content = gzip.compress(content, compresslevel=6, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(
        content=content, media_type=MSGPACK if msgpack else "application/json", headers=headers
    )


_PULL_OK = {
    200: ResponseSpec(
        data_container=PullResult,
        description="Changes, the new cursor and resets (JSON or MessagePack)",
        generate_examples=False,
    )
}
_PUSH_OK = {
    200: ResponseSpec(
        data_container=PushResult,
        description="One stored outcome per mutation, in request order",
        generate_examples=False,
    )
}


@post(
    "/pull",
    status_code=200,
    summary="Pull changes",
    operation_class=operation_with_body(pull_body, "The cursor the client has applied"),
    responses=_PULL_OK,
    opt={"problems": (400, 403, 409, 413, 415, 422, 426)},
)
async def pull_handler(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    sync_principal: NamedDependency[SyncPrincipal],
    sync_settings: NamedDependency[SyncSettings],
) -> Response[bytes]:
    """Changes after the client's cursor for the principal's scopes (JSON or MessagePack)."""
    body = await _decode(request, PullRequest)
    protocol = _protocol(request.headers.get(PROTOCOL_HEADER), body.protocol)
    if protocol not in SUPPORTED_PROTOCOLS:
        raise _upgrade_required(protocol)
    limit = min(
        max(body.limit or sync_settings.pull_limit_default, 1), sync_settings.pull_limit_max
    )
    client_id = body.client_id or sync_principal.client_id
    try:
        result = await pull(db_session, sync_principal.scopes, body.cursor, limit)
        if client_id is not None:
            # The cursor a client sends is what it has applied: an implicit acknowledgement.
            await record_ack(
                db_session,
                client_id,
                body.cursor,
                subscribed=sync_principal.scopes,
                subject_id=sync_principal.subject_id,
                dealer_id=sync_principal.dealer_id,
            )
    except DBAPIError as exc:
        if is_transient_db_error(exc):
            raise unavailable(exc) from exc
        raise
    msgpack = _wants_msgpack(request)
    return _answer(request, _encode_pull(result, msgpack), msgpack)


async def push_handler(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    sync_principal: NamedDependency[SyncPrincipal],
    sync_registry: NamedDependency[MutationRegistry],
    sync_settings: NamedDependency[SyncSettings],
) -> Response[bytes]:
    """Apply queued mutations; one stored outcome per mutation (JSON or MessagePack)."""
    body = await _decode(request, PushRequest)
    if len(body.mutations) > sync_settings.push_max_mutations:
        raise SyncBadRequest(
            f"At most {sync_settings.push_max_mutations} mutations per push",
            f"每次推送最多 {sync_settings.push_max_mutations} 条变更",
            code="too_many_mutations",
        )
    protocol = _protocol(request.headers.get(PROTOCOL_HEADER), body.protocol)
    result = await push(db_session, sync_principal, body, sync_registry)
    # An outdated client's mutations are still applied; it is told to upgrade alongside.
    result = msgspec.structs.replace(result, upgrade_required=protocol not in SUPPORTED_PROTOCOLS)
    msgpack = _wants_msgpack(request)
    content = (_msgpack if msgpack else _json).encode(result)
    return _answer(request, content, msgpack)


@post(
    "/ack",
    status_code=204,
    summary="Acknowledge a cursor",
    operation_class=operation_with_body(ack_body, "The cursor the node has applied"),
    opt={"problems": (400, 403, 413, 415, 422, 426)},
)
async def ack_handler(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    sync_principal: NamedDependency[SyncPrincipal],
) -> None:
    """Acknowledge the cursor a node has applied (delivery tracking)."""
    body = await _decode(request, AckRequest)
    if _protocol(request.headers.get(PROTOCOL_HEADER), body.protocol) not in SUPPORTED_PROTOCOLS:
        raise _upgrade_required(body.protocol)
    if sync_principal.client_id is not None and body.client_id != sync_principal.client_id:
        raise SyncForbidden(
            "The token is bound to another client id",
            "令牌绑定的客户端标识与请求不符",
            code="client_forbidden",
        )
    await record_ack(
        db_session,
        body.client_id,
        body.cursor,
        subscribed=sync_principal.scopes,
        subject_id=sync_principal.subject_id,
        dealer_id=sync_principal.dealer_id,
    )


def _hello(principal: SyncPrincipal, settings: SyncSettings) -> bytes:
    return _json.encode(
        {
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "scopes": sorted(principal.scopes),
            "heartbeatInterval": settings.heartbeat_interval,
            "pollInterval": settings.poll_interval,
        }
    )


async def hold_connection(
    hub: Hub, kind: Kind, principal: SyncPrincipal, send: Send, receive: Receive, *, done: str
) -> None:
    """Hold a realtime connection until the client leaves or the hub drops it."""
    # ASGI servers' send is a coroutine function; the hub steps it without a task.
    conn = hub.connect(kind, principal.scopes, cast("HubSend", send), asyncio.current_task())
    dropped = False
    try:
        while (await receive())["type"] != done:
            pass
    except asyncio.CancelledError:
        if not conn.closed:
            raise
        # Dropped by the hub as a slow consumer: end this connection, not the server.
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        dropped = True
    finally:
        hub.disconnect(conn)
    if dropped and kind == "ws":
        await _tell_slow_consumer(send, hub)


async def _tell_slow_consumer(send: Send, hub: Hub) -> None:
    """Close with 4408 once the client reads again; past the hub's ``close_timeout`` just end.

    The close frame queues behind what the client has not read: a client that resumes
    reading gets its pokes, then the code that tells it to reconnect and pull.
    """
    close = {"type": "websocket.close", "code": SLOW_CONSUMER_CLOSE, "reason": "slow_consumer"}
    # Gone or still not reading: the server ends the connection without it.
    with contextlib.suppress(TimeoutError, OSError, RuntimeError):
        async with asyncio.timeout(hub.close_timeout):
            await send(close)  # pyright: ignore[reportArgumentType]


SocketPrincipal = Callable[[WebSocket[Any, Any, Any]], Awaitable[SyncPrincipal]]
"""The server's principal of a WebSocket connect (token in the ``token`` query parameter, as
``sync_principal`` is for HTTP); raises when there is none."""
SocketRefusal = Callable[[Exception], SyncError | None]
"""What the server raised while naming a WebSocket's principal (its own token error, a
database blink), as the sync error the client is told; ``None`` for anything else."""


def _error_frame(error: SyncError) -> str:
    # The frame's own type stays "error" (the problem's type URN would hide it).
    return _json.encode({**error.to_problem(), "type": "error"}).decode()


def _close_code(error: SyncError) -> int:
    """4000 + the HTTP status: 4401, 4403, 4422, 4426, 4503 (4408: the hub's slow consumer)."""
    return 4000 + error.status_code


def _refusal_of(exc: Exception, refusal: SocketRefusal | None) -> SyncError | None:
    if isinstance(exc, SyncError):
        return exc
    if isinstance(exc, NotAuthorizedException):
        return SyncUnauthorized("Sign in again, then reconnect", "登录已失效，请重新登录后再连接")
    if isinstance(exc, PermissionDeniedException):
        return SyncForbidden("This connection is not allowed", "无权建立此连接")
    if is_transient_db_error(exc):
        return unavailable(exc)
    return refusal(exc) if refusal is not None else None


def _socket_protocol(value: str | None) -> None:
    """Refuse a ``protocol`` query parameter that is not a supported version."""
    if value is None:
        return
    if not re.fullmatch(r"-?[0-9]{1,10}", value):
        raise SyncInvalid(
            "The protocol query parameter must be a version number",
            "protocol 参数须为协议版本号",
            extra={"errors": [{"key": "protocol", "message": "not an integer"}]},
        )
    if int(value) not in SUPPORTED_PROTOCOLS:
        raise _upgrade_required(int(value))


def _websocket_route(
    principal_of: SocketPrincipal, refusal: SocketRefusal | None
) -> WebsocketRouteHandler:
    @websocket("/ws")
    async def websocket_handler(
        socket: WebSocket[Any, Any, Any],
        sync_hub: NamedDependency[Hub],
        sync_settings: NamedDependency[SyncSettings],
    ) -> None:
        """Pokes over WebSocket for the mini-program (``?token=…&protocol=1``).

        The socket is accepted first: a connect refused in the handshake reaches
        ``wx.connectSocket`` and browsers only as a failed connection (HTTP 403, close 1006),
        so a refusal is an ``error`` frame and close code 4000 + its status instead.
        """
        await socket.accept()
        try:
            principal = await principal_of(socket)
            _socket_protocol(socket.query_params.get("protocol"))
        except Exception as exc:
            error = _refusal_of(exc, refusal)
            if error is None:
                raise
            await socket.send_text(_error_frame(error))
            await socket.close(code=_close_code(error), reason=error.code)
            return
        await socket.send_text(_hello(principal, sync_settings).decode())
        await hold_connection(
            sync_hub, "ws", principal, socket.send, socket.receive, done="websocket.disconnect"
        )

    return websocket_handler


@get("/events", media_type="text/event-stream", summary="Pokes as Server-Sent Events")
async def events_handler(
    sync_principal: NamedDependency[SyncPrincipal],
    sync_hub: NamedDependency[Hub],
    sync_settings: NamedDependency[SyncSettings],
    protocol: Annotated[int | None, QueryParameter(ge=-(2**31), le=2**31 - 1)] = None,
) -> ASGIApp:
    """Pokes as Server-Sent Events for apps and web pages."""
    if protocol is not None and protocol not in SUPPORTED_PROTOCOLS:
        raise _upgrade_required(protocol)
    hello = b"event: hello\ndata: " + _hello(sync_principal, sync_settings) + b"\n\n"

    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        del scope
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": hello, "more_body": True})
        # No closing chunk: the client has gone, or was dropped because it stopped reading.
        await hold_connection(
            sync_hub, "sse", sync_principal, send, receive, done="http.disconnect"
        )

    return stream


def create_sync_router(
    hub: Hub,
    registry: MutationRegistry,
    settings: SyncSettings | None = None,
    *,
    socket_principal: SocketPrincipal,
    socket_refusal: SocketRefusal | None = None,
) -> Router:
    """The ``/sync`` router. The server provides ``db_session`` and ``sync_principal``
    (dependencies of the HTTP routes), ``socket_principal`` for the WebSocket, and
    ``socket_refusal`` to name its own errors to a WebSocket client."""
    settings = settings or SyncSettings()
    websocket_route = _websocket_route(socket_principal, socket_refusal)
    push_route = post(
        "/push",
        status_code=200,
        summary="Push queued mutations",
        operation_class=operation_with_body(
            lambda: json_schema(mutation_union(registry)),
            "Queued mutations in mid order; each mutation's args follow its name",
        ),
        responses=_PUSH_OK,
        opt={"problems": (400, 403, 409, 413, 415, 422)},
    )(push_handler)
    return Router(
        path="/sync",
        route_handlers=[pull_handler, push_route, ack_handler, websocket_route, events_handler],
        dependencies={
            "sync_hub": Provide(lambda: hub, use_cache=True, sync_to_thread=False),
            "sync_registry": Provide(lambda: registry, use_cache=True, sync_to_thread=False),
            "sync_settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
        },
        tags=["sync"],
    )
