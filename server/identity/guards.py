"""Authentication middleware and role guards.

The middleware only decodes: a missing or bad token leaves ``connection.user`` empty and the
reason in scope; the guards of protected routes turn that into 401 or 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from server.errors import ChannelhubError, Forbidden, Unauthorized
from server.identity.models import DEALER_ROLES, HQ_ROLES, Role
from server.identity.principal import Principal
from server.identity.tokens import decode_access_token
from server.settings import AuthSettings

_AUTH_ERROR = "channelhub.auth_error"


class AuthenticationMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["user"] = None
        scope["auth"] = None
        token = _bearer(scope)
        if token:
            try:
                scope["user"] = decode_access_token(self.settings, token)
            except ChannelhubError as exc:
                scope.setdefault("state", {})[_AUTH_ERROR] = exc  # type: ignore[typeddict-item]
        await next_app(scope, receive, send)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    if scope["type"] == "websocket" or scope.get("path", "").endswith("/events"):
        # Browsers and wx.connectSocket cannot always set headers: accept ?token= there.
        from urllib.parse import parse_qs

        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if query.get("token"):
            return query["token"][0]
    return None


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if isinstance(user, Principal):
        return user
    error = connection.scope.get("state", {}).get(_AUTH_ERROR)
    if isinstance(error, ChannelhubError):
        raise error
    raise Unauthorized()


def _role_guard(
    allowed: frozenset[Role], name: str
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    # A coroutine function: Litestar runs a plain function guard in a worker thread, a
    # thread hop on every request for a check of a few attribute reads.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = current_principal(connection)
        if principal.role not in allowed:
            raise Forbidden("role_forbidden", "当前角色无权访问", f"Requires role: {name}")

    guard.__name__ = f"requires_{name}"
    return guard


requires_login = _role_guard(frozenset(Role), "any")
requires_hq = _role_guard(HQ_ROLES, "hq")
requires_hq_admin = _role_guard(frozenset({Role.HQ_ADMIN}), "hq_admin")
requires_dealer = _role_guard(DEALER_ROLES, "dealer")
requires_dealer_admin = _role_guard(frozenset({Role.DEALER_ADMIN}), "dealer_admin")
requires_rep = _role_guard(frozenset({Role.REP}), "rep")
requires_field = _role_guard(DEALER_ROLES | {Role.REP}, "dealer_or_rep")


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The authenticated caller (routes behind a guard always have one)."""
    return current_principal(request)
