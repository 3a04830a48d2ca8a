"""ASGI entry points for servers: ``server.asgi:create`` (factory) or ``server.asgi:app``.

Both answer ``/health`` at once and build the application in the background
(:mod:`server.warmup`); ``/ready`` says when it serves.
"""

from __future__ import annotations

from typing import Any

from server.warmup import WarmingApp


def build() -> Any:
    """The real application for the environment's settings (imports everything: seconds)."""
    from server.app import create_app
    from server.settings import load_settings

    return create_app(load_settings())


def create() -> Any:
    return WarmingApp(build)


def __getattr__(name: str) -> Any:
    # Built on first access, not at import: importing this module has no side effects.
    if name == "app":
        return create()
    raise AttributeError(name)
