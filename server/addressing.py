"""The address links are built on: the configured public URL, else the one the client used.

A link the server hands out (a presigned upload form, a receipt image) must reach the server
from where the client stands: behind a proxy, through a LAN address, on another port. With
``CHANNELHUB_PUBLIC_BASE_URL`` set, that is used. Otherwise each request records the address
it was sent to: its scheme and ``Host``, replaced by ``X-Forwarded-Proto`` /
``X-Forwarded-Host`` only when the peer is a trusted proxy (``CHANNELHUB_TRUSTED_PROXIES``).
Work outside a request (jobs) falls back to :data:`DEFAULT_BASE_URL`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
_request_base: ContextVar[str | None] = ContextVar("channelhub_request_base", default=None)


def request_base_url(scope: Mapping[str, Any], trusted_proxies: Iterable[str]) -> str | None:
    """``scheme://host[:port]`` the client addressed, or None when the request names no host."""
    headers = {k.lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    host = headers.get(b"host")
    client = scope.get("client")
    if client and client[0] in set(trusted_proxies):
        forwarded_proto = headers.get(b"x-forwarded-proto", "").split(",")[0].strip().lower()
        if forwarded_proto in ("http", "https"):
            scheme = forwarded_proto
        host = headers.get(b"x-forwarded-host", "").split(",")[0].strip() or host
    if not host or not _plausible_host(host):
        return None
    return f"{scheme}://{host}"


def _plausible_host(host: str) -> bool:
    """A host[:port] with no path, credentials or spaces (headers are client-controlled)."""
    return host.isprintable() and not any(c in host for c in "/@?#\\ ") and len(host) <= 255


def remember_request_base(base: str | None) -> None:
    """Record the request's address for the links built while serving it."""
    _request_base.set(base)


def public_base_url(configured: str | None) -> str:
    """The base for links now: configured, else the current request's, else the default."""
    return (configured or _request_base.get() or DEFAULT_BASE_URL).rstrip("/")
