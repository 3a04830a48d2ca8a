"""ASGI entry points for servers: ``server.asgi:create`` (factory) or ``server.asgi:app``."""

from __future__ import annotations

from typing import Any

from server.app import create_app
from server.settings import load_settings


def create() -> Any:
    return create_app(load_settings())


def __getattr__(name: str) -> Any:
    # Built on first access, not at import: importing this module has no side effects.
    if name == "app":
        return create()
    raise AttributeError(name)
