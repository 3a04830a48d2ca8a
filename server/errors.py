"""The one exception tree, rendered as RFC 9457 problem+json by one handler.

    ChannelhubError            500 internal_error
    ├── BadRequest             400
    ├── Unauthorized           401
    ├── Forbidden              403
    ├── NotFound               404  (also for another dealer's resource: existence is not leaked)
    ├── Conflict               409
    ├── PayloadTooLarge        413
    ├── Invalid                422  (business validation, with per-field errors)
    ├── TooManyRequests        429
    ├── UpstreamError          502  (WeChat and other outside services)
    └── Unavailable            503  (transient: retry later; always with Retry-After)

Transient infrastructure errors (the database blinking: refused, reset, shutting down, a
failed rollback, the pool exhausted) are 503 ``database_unavailable`` with Retry-After wherever
they surface, even when no code on the way caught them (``server.db.errors.is_transient``).

A body that cannot be parsed is 400 ``body_malformed``; a parsed body or parameter that
breaks the schema (type, length, range, control characters: ``server.text``) is 422
``request_invalid`` with one entry per field; a body that is not JSON where JSON is expected
is 415. Every error has a stable machine ``code`` and a zh-CN and English message; the
answer's language follows Accept-Language (zh-CN unless the client prefers another language).
"""

from __future__ import annotations

from typing import Any, ClassVar

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from server.db.errors import is_transient
from server.messages import CATALOGUE, language_from_header, render, validation_text
from server.text import describe_violation

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 1
"""What a 503 tells clients to wait: database blinks last about a second (FACTS.md)."""
log = structlog.get_logger("channelhub.errors")


class ChannelhubError(Exception):
    """Base of every error the API answers on purpose."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"
    default_zh: ClassVar[str] = "服务器内部错误"
    default_en: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        code: str | None = None,
        zh: str | None = None,
        en: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        keep_changes: bool = False,
        **extra: Any,
    ) -> None:
        self.code = code or self.default_code
        # Without texts of its own, an error reads its code's texts from the catalogue,
        # filled with its extra fields.
        known = self.code in CATALOGUE
        self.zh = zh or (render(self.code, "zh", **extra) if known else self.default_zh)
        self.en = en or (render(self.code, "en", **extra) if known else self.default_en)
        self.errors = errors
        self.headers = headers
        # When the refusal is itself a change that must last (a revoked token family, a
        # rejected attempt recorded), the request's transaction still commits.
        self.keep_changes = keep_changes
        self.extra = extra
        super().__init__(f"{self.code}: {self.en}")


class BadRequest(ChannelhubError):
    status = 400
    default_code = "bad_request"
    default_zh = "请求格式错误"
    default_en = "Malformed request"


class Unauthorized(ChannelhubError):
    status = 401
    default_code = "not_authenticated"
    default_zh = "请先登录"
    default_en = "Authentication required"


class Forbidden(ChannelhubError):
    status = 403
    default_code = "forbidden"
    default_zh = "无权执行此操作"
    default_en = "You are not allowed to do this"


class NotFound(ChannelhubError):
    status = 404
    default_code = "not_found"
    default_zh = "资源不存在"
    default_en = "Not found"


class Conflict(ChannelhubError):
    status = 409
    default_code = "conflict"
    default_zh = "与当前状态冲突"
    default_en = "Conflicts with the current state"


class PayloadTooLarge(ChannelhubError):
    status = 413
    default_code = "payload_too_large"
    default_zh = "请求内容过大"
    default_en = "Request body too large"


class Invalid(ChannelhubError):
    status = 422
    default_code = "invalid"
    default_zh = "数据校验失败"
    default_en = "Validation failed"


class TooManyRequests(ChannelhubError):
    status = 429
    default_code = "too_many_requests"
    default_zh = "请求过于频繁，请稍后再试"
    default_en = "Too many requests, try again later"


class UpstreamError(ChannelhubError):
    status = 502
    default_code = "upstream_error"
    default_zh = "外部服务出错"
    default_en = "An outside service failed"


class Unavailable(ChannelhubError):
    status = 503
    default_code = "unavailable"
    default_zh = "服务暂时不可用，请稍后重试"
    default_en = "Temporarily unavailable, retry later"


def prefers_chinese(request: Request[Any, Any, Any]) -> bool:
    """zh-CN unless Accept-Language ranks another language first."""
    return language_from_header(request.headers.get("accept-language")) == "zh"


def camel_keys(members: dict[str, Any]) -> dict[str, Any]:
    """``members`` with camelCase keys (``starts_at`` -> ``startsAt``): what clients read."""
    return {_camel(name): value for name, value in members.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def problem(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    zh: str,
    en: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    """Render one RFC 9457 problem document."""
    chinese = prefers_chinese(request)
    body: dict[str, Any] = {
        "type": f"urn:channelhub:problem:{code}",
        "title": zh if chinese else en,
        "status": status,
        "code": code,
        "detail": zh if chinese else en,
        "instance": request.url.path,
    }
    request_id = request.scope.get("state", {}).get("request_id")
    if request_id:
        body["requestId"] = request_id
    if errors:
        body["errors"] = [_localized(e, chinese) for e in errors]
    for name, value in camel_keys(extra or {}).items():
        # A problem's own members (status, code...) are never overwritten by its extras.
        body.setdefault(name, value)
    return Response(
        body,
        status_code=status,
        media_type=PROBLEM_JSON,
        headers={"Content-Language": "zh-CN" if chinese else "en", **(headers or {})},
    )


_HTTP_CODES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "请求格式错误", "Malformed request"),
    401: ("not_authenticated", "请先登录", "Authentication required"),
    403: ("forbidden", "无权执行此操作", "You are not allowed to do this"),
    404: ("not_found", "资源不存在", "Not found"),
    405: ("method_not_allowed", "不支持该请求方法", "Method not allowed"),
    406: ("not_acceptable", "无法提供所需的格式", "Not acceptable"),
    413: ("payload_too_large", "请求内容过大", "Request body too large"),
    415: ("unsupported_media_type", "不支持的内容类型", "Unsupported media type"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试", "Too many requests"),
}


def handle_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """The one exception handler: our tree, Litestar's HTTP errors, then anything else as 500."""
    if isinstance(exc, BaseExceptionGroup):  # dependency clean-ups report errors as a group
        exc = _first_of_ours(exc) or exc
    if isinstance(exc, ChannelhubError):
        if exc.status >= 500:
            log.warning("service_error", code=exc.code, error=str(exc))
        return problem(
            request,
            exc.status,
            exc.code,
            exc.zh,
            exc.en,
            errors=exc.errors,
            headers=_with_retry_after(exc.status, exc.headers),
            extra=exc.extra or None,
        )
    if is_transient(exc):
        log.warning("database_unavailable", error=repr(exc))
        return problem(
            request,
            503,
            "database_unavailable",
            "数据库暂时不可用，请稍后重试",
            "The database is temporarily unavailable, retry later",
            headers=_with_retry_after(503, None),
        )
    if isinstance(exc, ValidationException):
        # Parsed, but a value breaks the schema (type, length, range, control characters).
        errors = exc.extra if isinstance(exc.extra, list) else None
        return problem(
            request,
            422,
            "request_invalid",
            "请求参数不合法",
            "The request is not valid",
            errors=[_clean_error(e) for e in errors] if errors else None,
        )
    if isinstance(exc, HTTPException) and exc.status_code == 400:
        return problem(
            request,
            400,
            "body_malformed",
            "请求体格式错误（不是合法的 JSON 或表单）",
            "The request body could not be parsed",
        )
    if isinstance(exc, HTTPException):
        code, zh, en = _HTTP_CODES.get(
            exc.status_code, ("http_error", "请求失败", "Request failed")
        )
        return problem(request, exc.status_code, code, zh, en, headers=exc.headers)
    log.exception("unhandled_error", error=repr(exc))
    return problem(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "服务器内部错误",
        "Internal server error",
    )


def _first_of_ours(group: BaseExceptionGroup[Any]) -> Exception | None:
    for inner in group.exceptions:
        if isinstance(inner, BaseExceptionGroup):
            found = _first_of_ours(inner)  # type: ignore[arg-type]
            if found is not None:
                return found
        elif isinstance(inner, ChannelhubError):
            return inner
    return None


def _with_retry_after(status: int, headers: dict[str, str] | None) -> dict[str, str] | None:
    """Every 503 tells the client when to retry (RFC 9110 Retry-After)."""
    if status != 503 or any(name.lower() == "retry-after" for name in headers or {}):
        return headers
    return {**(headers or {}), "Retry-After": str(RETRY_AFTER_SECONDS)}


def _clean_error(error: Any) -> dict[str, Any]:
    """A validation failure as the field it names, a stable code and both languages."""
    if not isinstance(error, dict):
        error = {"message": str(error)}
    out = {k: str(v) for k, v in error.items() if k in ("key", "source")}  # pyright: ignore[reportUnknownVariableType]
    message = str(error.get("message", ""))  # pyright: ignore[reportUnknownArgumentType]
    if rule := describe_violation(message):  # control characters: a rule of our own
        out["code"], out["message"], out["message_en"] = rule
        return out
    code, params = validation_text(message)
    out["code"] = code.removeprefix("validation.")
    out["message"] = render(code, "zh", **params)
    out["message_en"] = render(code, "en", **params)
    return out


def _localized(error: Any, chinese: bool) -> Any:
    """An ``errors`` item's ``message`` in the answer's language (both kept: zh, en)."""
    if not isinstance(error, dict):
        return error
    item: dict[str, Any] = dict(error)  # pyright: ignore[reportUnknownArgumentType]
    en = item.pop("message_en", None) or item.pop("messageEn", None)
    zh = item.pop("messageZh", None) or item.get("message")
    if isinstance(zh, str) and isinstance(en, str):
        item["message"] = zh if chinese else en
        item["zh"], item["en"] = zh, en
    return item


__all__ = [
    "PROBLEM_JSON",
    "RETRY_AFTER_SECONDS",
    "BadRequest",
    "ChannelhubError",
    "Conflict",
    "Forbidden",
    "Invalid",
    "MediaType",
    "NotFound",
    "PayloadTooLarge",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "UpstreamError",
    "camel_keys",
    "handle_error",
    "problem",
]
