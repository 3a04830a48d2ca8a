"""Base structs for the API edge: camelCase on the wire, unknown fields refused."""

from __future__ import annotations

import base64
from typing import Any, Generic, TypeVar

import msgspec
from litestar.params import PathParameter

from server.errors import BadRequest
from server.messages import reason
from server.text import LINE_RULE

T = TypeVar("T")


class Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """A request body."""


class Response(msgspec.Struct, kw_only=True, rename="camel"):
    """A response body."""


class ReasonText(Response, kw_only=True):
    """A reason a person reads: the stable code, the message in the request's language, both."""

    code: str
    message: str
    zh: str
    en: str


def reason_text(code: str, catalogue_key: str, params: dict[str, Any] | None = None) -> ReasonText:
    """The catalogue's texts for ``catalogue_key``, filled with ``params``, under ``code``."""
    texts = reason(catalogue_key, params)
    return ReasonText(code=code, message=texts["message"], zh=texts["zh"], en=texts["en"])


class Page(Response, Generic[T], kw_only=True):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.b64decode(
            cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True
        ).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("cursor_invalid", "分页游标无效", "Invalid page cursor") from exc


def set_fields(body: msgspec.Struct) -> dict[str, object]:
    """The fields a partial update sets: ``None`` means 'leave as it is'."""
    return {
        name: value for name in body.__struct_fields__ if (value := getattr(body, name)) is not None
    }


def path_text(max_length: int) -> Any:
    """A text path parameter: one line of at most ``max_length`` characters."""
    return PathParameter(max_length=max_length, pattern=LINE_RULE)
