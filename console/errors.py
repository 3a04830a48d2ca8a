"""Errors on a page: a clear message in the reader's language, never a JSON body.

The request's transaction has already rolled back when these run (the session dependency
rolls back on any exception), so a refused action leaves nothing half-done.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import structlog
from litestar import Request
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Response

from console.i18n import LANG_COOKIE, pick_lang, translator
from console.render import page
from console.session import SignInRequired
from server.errors import ChannelhubError

log = structlog.get_logger("channelhub.console")


def handle_console_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The console's one exception handler."""
    if isinstance(exc, SignInRequired):
        if request.method == "GET":
            target = f"/console/login?next={quote(request.url.path)}"
        else:
            target = "/console/login"
        return Redirect(
            target + ("&expired=1" if "?" in target else "?expired=1") if exc.expired else target
        )
    t = translator(pick_lang(request.cookies.get(LANG_COOKIE)))
    lang = pick_lang(request.cookies.get(LANG_COOKIE))
    if isinstance(exc, ChannelhubError):
        if exc.status >= 500:
            log.warning("console_service_error", code=exc.code)
        message = exc.zh if lang == "zh-CN" else exc.en
        if exc.code == "role_forbidden":
            message = t("forbidden_admin")
        details = [
            str(e.get("message" if lang == "zh-CN" else "message_en") or e.get("message", ""))
            for e in exc.errors or []
        ]
        return error_page(request, exc.status, message, exc.code, details)
    if isinstance(exc, PermissionDeniedException):
        # Litestar's CSRF middleware refuses a post without a matching token this way.
        return error_page(request, 403, t("csrf_failed"), "csrf_failed")
    if isinstance(exc, NotFoundException):
        return error_page(request, 404, t("not_found"), "not_found")
    if isinstance(exc, HTTPException):
        return error_page(request, exc.status_code, str(exc.detail), "http_error")
    log.exception("console_unhandled_error", error=repr(exc))
    return error_page(request, 500, t("server_error"), "internal_error")


def error_page(
    request: Request[Any, Any, Any],
    status: int,
    message: str,
    code: str,
    details: list[str] | None = None,
) -> Response[Any]:
    back = request.headers.get("referer") or "/console/"
    if not back.startswith(str(request.base_url).rstrip("/")):
        back = "/console/"
    return page(
        request,
        "error.html",
        status_code=status,
        message=message,
        code=code,
        details=details or [],
        back=back,
    )
