"""The docs page: Swagger UI with every asset served by the app itself (no CDN).

Swagger UI's files come from the ``swagger-ui-bundle-v2`` wheel and are served under a path
that carries their version, so a browser may cache them for good; the page references no
other host (often unreachable from mainland China).
"""

from __future__ import annotations

from litestar import Router
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

ASSETS_PATH = f"/docs/assets/{swagger_ui_path.name}"


def docs_assets_router() -> Router:
    """Swagger UI's scripts, styles and icons, from the wheel that ships them."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[str(swagger_ui_path)],
        include_in_schema=False,
        send_as_attachment=False,
        name="docs_assets",
    )


def swagger_page() -> SwaggerRenderPlugin:
    """The Swagger UI page at ``/schema/swagger``, loading only the app's own assets."""
    return SwaggerRenderPlugin(
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
    )
