"""What the API says about itself: the OpenAPI document's parts and the docs page."""

from server.apidocs.pages import docs_assets_router, swagger_page
from server.apidocs.problems import ProblemDetails, ProblemResponses, problem_response

__all__ = [
    "ProblemDetails",
    "ProblemResponses",
    "docs_assets_router",
    "problem_response",
    "swagger_page",
]
