"""The ``/console`` router: its middleware (session, principal, CSRF) and its pages."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.template.config import TemplateConfig

from console.assets import CATALOG, static_asset
from console.errors import handle_console_error
from console.pages import (
    announcements,
    approvals,
    audit,
    auth,
    claims,
    dealers,
    delivery,
    invoices,
    orders,
    overview,
    pricelists,
    promotions,
    webhooks,
)
from console.render import yuan
from console.session import SESSION_STORE, SessionPrincipalMiddleware, session_middleware
from server.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"
CSRF_COOKIE = "console_csrf"


def console_templates(settings: Settings) -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja templates from ``console/templates``, autoescaped, with the console's filters."""
    zone = ZoneInfo(settings.timezone)

    def local(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        return moment.astimezone(zone).strftime(pattern) if moment else "—"

    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals["asset"] = CATALOG.url
        engine.engine.filters["yuan"] = yuan
        engine.engine.filters["local"] = local

    return TemplateConfig(
        directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=configure
    )


def console_stores(settings: Settings) -> dict[str, Store]:
    """The session store: Redis when configured (sessions survive restarts, shared by every
    process), else this process's memory."""
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        return {
            SESSION_STORE: RedisStore.with_client(
                url=settings.redis_url, namespace="channelhub-console"
            )
        }
    return {SESSION_STORE: MemoryStore()}


def console_router(settings: Settings) -> Router:
    """Every console page and action, behind the session and CSRF middleware."""
    secure = (settings.public_base_url or "").startswith("https://")
    csrf = CSRFConfig(
        secret=hashlib.sha256(("console-csrf:" + settings.auth.jwt_secret).encode()).hexdigest(),
        cookie_name=CSRF_COOKIE,
        cookie_path="/console",
        cookie_secure=secure,
        cookie_httponly=True,
        cookie_samesite="strict",
    )
    handlers: list[Any] = [
        static_asset,
        auth.sign_in_page,
        auth.sign_in,
        auth.sign_out,
        auth.switch_language,
        *overview.HANDLERS,
        *claims.HANDLERS,
        *orders.HANDLERS,
        *approvals.HANDLERS,
        *invoices.HANDLERS,
        *pricelists.HANDLERS,
        *delivery.HANDLERS,
        *promotions.HANDLERS,
        *announcements.HANDLERS,
        *dealers.HANDLERS,
        *webhooks.HANDLERS,
        *audit.HANDLERS,
    ]
    return Router(
        path="/console",
        route_handlers=handlers,
        include_in_schema=False,
        middleware=[
            session_middleware(secure=secure),
            SessionPrincipalMiddleware(),
            DefineMiddleware(CSRFMiddleware, config=csrf),
        ],
        exception_handlers={Exception: handle_console_error, HTTPException: handle_console_error},
    )
