"""A JSON route reads only JSON: a body declared as anything else is refused with 415.

Litestar decodes a route's ``data`` as JSON whatever the request's Content-Type says, so a
``text/plain`` or form body would be parsed as if it were JSON. This hook runs before the
body is read. A request without a Content-Type is taken as JSON (what ``wx.request`` and
most clients send by default); multipart routes and raw-body routes (no ``data``) are left
to their own parsing. The sync routes read their bodies themselves and apply the same rule
(JSON or MessagePack).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

__all__ = ["is_json_media_type", "require_json_body"]


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON: ``application/json`` or ``application/*+json``."""
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def require_json_body(request: Request[Any, Any, Any]) -> None:
    """Refuse a non-JSON body on a route whose body is JSON (before the body is read)."""
    body = request.route_handler.parsed_fn_signature.parameters.get("data")
    if body is None:
        return
    media_type = getattr(body.kwarg_definition, "media_type", RequestEncodingType.JSON)
    if media_type != RequestEncodingType.JSON:
        return
    content_type = request.headers.get("content-type")
    if content_type is None or is_json_media_type(content_type):
        return
    raise HTTPException(
        status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        detail=f"expected application/json, got {content_type[:100]}",
    )
