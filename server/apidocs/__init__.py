"""What the API says about itself: the OpenAPI document's parts and the docs page."""

from server.apidocs.pages import docs_assets_router, swagger_page

__all__ = ["docs_assets_router", "swagger_page"]
