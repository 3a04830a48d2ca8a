"""Errors raised by the sync package.

Every error carries an HTTP status, a stable machine ``code`` and a zh-CN and English
message, so the server can render RFC 9457 problem+json from one handler::

    SyncError
    ├── SyncBadRequest        400  malformed_body, too_many_mutations
    ├── SyncUnauthorized      401  unauthorized (a realtime connect without a valid token)
    ├── SyncForbidden         403  scope_forbidden, client_forbidden
    ├── SyncNotFound          404  not_found
    ├── SyncConflict          409  mid_gap, cursor_ahead
    ├── SyncUnsupportedMedia  415  unsupported_media_type (neither JSON nor MessagePack)
    ├── SyncInvalid           422  invalid_request (decoded, but breaks the schema)
    ├── SyncUpgradeRequired   426  upgrade_required
    └── SyncUnavailable       503  unavailable
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from litestar import Request, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

__all__ = [
    "SyncBadRequest",
    "SyncConflict",
    "SyncError",
    "SyncForbidden",
    "SyncInvalid",
    "SyncNotFound",
    "SyncUnauthorized",
    "SyncUnavailable",
    "SyncUnsupportedMedia",
    "SyncUpgradeRequired",
    "is_transient_db_error",
    "sync_exception_handler",
    "unavailable",
]

# SQLSTATEs worth a retry (class 08, connection exception, too): serialization failure,
# deadlock, lock timeout, too many connections, admin shutdown, crash shutdown, cannot connect
# now. The server's ``server.db.errors.is_transient`` keeps the same rules.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "53300", "57P01", "57P02", "57P03"})


class SyncError(Exception):
    """Base of every error the sync package raises on purpose."""

    status_code: ClassVar[int] = 500
    default_code: ClassVar[str] = "sync_error"

    def __init__(
        self,
        message_en: str,
        message_zh: str,
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message_en)
        self.code = code or self.default_code
        self.message_en = message_en
        self.message_zh = message_zh
        self.extra: dict[str, Any] = extra or {}

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """Render the error as an RFC 9457 problem document."""
        problem: dict[str, Any] = {
            "type": f"urn:channelhub:sync:{self.code}",
            "title": self.message_en,
            "status": self.status_code,
            "code": self.code,
            "detail": self.message_en,
            "message": {"zh-CN": self.message_zh, "en": self.message_en},
        }
        if instance:
            problem["instance"] = instance
        problem.update(self.extra)
        return problem


class SyncBadRequest(SyncError):
    """The request cannot be parsed or is not well formed."""

    status_code = 400
    default_code = "invalid_request"


class SyncUnauthorized(SyncError):
    """No valid token: sign in again (refresh the token), then reconnect."""

    status_code = 401
    default_code = "unauthorized"


class SyncForbidden(SyncError):
    """The principal may not read a scope or use a client id."""

    status_code = 403
    default_code = "forbidden"


class SyncNotFound(SyncError):
    """A referenced sync object does not exist."""

    status_code = 404
    default_code = "not_found"


class SyncConflict(SyncError):
    """The request contradicts the server's state (mid gap, cursor ahead of the server)."""

    status_code = 409
    default_code = "conflict"


class SyncUnsupportedMedia(SyncError):
    """The body is neither JSON nor MessagePack."""

    status_code = 415
    default_code = "unsupported_media_type"


class SyncInvalid(SyncError):
    """The body decodes but breaks the protocol's schema (type, length, range, characters)."""

    status_code = 422
    default_code = "invalid_request"


class SyncUpgradeRequired(SyncError):
    """The client speaks a protocol version the server no longer supports."""

    status_code = 426
    default_code = "upgrade_required"


class SyncUnavailable(SyncError):
    """A transient failure (database unreachable, serialization failure): retry later."""

    status_code = 503
    default_code = "unavailable"


def is_transient_db_error(exc: BaseException) -> bool:
    """Whether a database error (or what it was raised from) is worth retrying."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if _transient_one(seen):
            return True
        seen = seen.__cause__
    return False


def _transient_one(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    if isinstance(exc, ConnectionError | TimeoutError):
        return True  # refused, reset, aborted, connect timeout (asyncpg raises these unwrapped)
    if _transient_sqlstate(exc):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or _transient_sqlstate(exc.orig)
    return False


def _transient_sqlstate(exc: BaseException | None) -> bool:
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if not isinstance(sqlstate, str):
        return False
    return sqlstate.startswith("08") or sqlstate in _TRANSIENT_SQLSTATES


def unavailable(exc: BaseException) -> SyncUnavailable:
    """The 503 error for a transient failure."""
    return SyncUnavailable(
        f"Sync storage is temporarily unavailable ({type(exc).__name__}); retry",
        "同步服务暂时不可用，请稍后重试",
    )


def sync_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Answer a ``SyncError`` as RFC 9457 problem+json (register for ``SyncError``)."""
    if not isinstance(exc, SyncError):  # pragma: no cover - registered for SyncError only
        raise exc
    headers = {"Retry-After": "2"} if isinstance(exc, SyncUnavailable) else None
    return Response(
        content=msgspec.json.encode(exc.to_problem(request.url.path)),
        status_code=exc.status_code,
        media_type="application/problem+json",
        headers=headers,
    )
