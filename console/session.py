"""Browser sessions: a server-side session behind an HttpOnly cookie, read once per request.

The cookie holds only a random session id; the store (Redis when configured, else memory)
holds the signed-in user's id, role, name and the user's token generation at sign-in. Each
request re-reads the user through the identity service: a disabled account or a changed
password ends the session at once. The principal is put where the API's guards look for it
(``scope["user"]``), so the console's routes use the same ``requires_hq`` guards as the API.
"""

from __future__ import annotations

import uuid
from http.cookies import SimpleCookie
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware, DefineMiddleware
from litestar.middleware.session import SessionMiddleware
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import ASGIApp, Empty, Receive, Scope, Send

from server.identity import HQ_ROLES, Role
from server.identity.principal import Principal
from server.identity.service import session_user

SESSION_COOKIE = "channelhub_console"
SESSION_STORE = "console_sessions"
SESSION_SECONDS = 8 * 3600
_EXPIRED = "console.session_expired"
_NEW_ID = "console.session_new_id"


class SignInRequired(Exception):
    """The page needs a signed-in HQ user; the console answers with the sign-in page."""

    def __init__(self, *, expired: bool) -> None:
        self.expired = expired
        super().__init__("sign in required")


def session_config(*, secure: bool) -> ServerSideSessionConfig:
    """The session cookie: HttpOnly, SameSite=Lax, only sent to ``/console``."""
    return ServerSideSessionConfig(
        key=SESSION_COOKIE,
        store=SESSION_STORE,
        max_age=SESSION_SECONDS,
        path="/console",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


class RotatingSessionBackend(ServerSideSessionBackend):
    """Server-side sessions whose id changes at sign-in (``rotate_session``): an id a visitor
    held (or was handed) before signing in never carries the signed-in session."""

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        """The new id after ``rotate_session`` (the same one for the rest of the request)."""
        state = connection.scope.setdefault("state", {})
        if state.get(_NEW_ID) is True:
            state[_NEW_ID] = self.generate_session_id()
        new_id = state.get(_NEW_ID)
        return new_id if isinstance(new_id, str) else super().get_session_id(connection)


def session_middleware(*, secure: bool) -> DefineMiddleware:
    """Litestar's session middleware over the rotating backend."""
    return DefineMiddleware(
        SessionMiddleware, backend=RotatingSessionBackend(config=session_config(secure=secure))
    )


async def rotate_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Forget the session the request came with and give what it stores next a new id."""
    old = connection.cookies.get(SESSION_COOKIE)
    if old:
        await connection.app.stores.get(SESSION_STORE).delete(old)
    connection.scope.setdefault("state", {})[_NEW_ID] = True


def session_data(scope: Scope) -> dict[str, Any]:
    data = scope.get("session")
    return data if isinstance(data, dict) else {}  # type: ignore[return-value]


class SessionPrincipalMiddleware(ASGIMiddleware):
    """Turn the session into the request's principal (after the session middleware ran)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["user"] = None
        data = session_data(scope)
        if "uid" in data:
            principal = await _principal(scope, data)
            if principal is None:
                data.clear()
                _mark_expired(scope)
            scope["user"] = principal
        elif _session_cookie(scope):
            _mark_expired(scope)  # a session id the store no longer knows: it expired
        if not data:
            scope["session"] = Empty  # nothing to keep: no store entry, the cookie is cleared
        await next_app(scope, receive, send)


def _mark_expired(scope: Scope) -> None:
    scope.setdefault("state", {})[_EXPIRED] = True  # type: ignore[typeddict-item]


def _session_cookie(scope: Scope) -> str:
    jar = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar.load(value.decode("latin-1"))
    morsel = jar.get(SESSION_COOKIE)
    return "" if morsel is None or morsel.value in ("", "null") else morsel.value


async def _principal(scope: Scope, data: dict[str, Any]) -> Principal | None:
    try:
        user_id, generation = uuid.UUID(str(data["uid"])), int(data["gen"])
    except (KeyError, ValueError):
        return None
    database = scope["litestar_app"].state.database
    async with database.session(write=False) as db:
        user = await session_user(db, user_id, generation)
    if user is None or user.role not in HQ_ROLES:
        return None
    return Principal(user_id=user.id, role=user.role, dealer_id=None)


async def requires_console(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Pages and actions need a signed-in HQ user; else the sign-in page."""
    user = connection.scope.get("user")
    if not isinstance(user, Principal) or user.role not in HQ_ROLES:
        expired = bool(connection.scope.get("state", {}).get(_EXPIRED))
        raise SignInRequired(expired=expired)


def is_admin(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    user = connection.scope.get("user")
    return isinstance(user, Principal) and user.role is Role.HQ_ADMIN
