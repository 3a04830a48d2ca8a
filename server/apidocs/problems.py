"""Every operation documents the problem+json statuses it can answer, in the shape it sends.

Litestar's default documents a 400 ``application/json {status_code, detail, extra}`` that this
server never sends. ``ProblemResponses`` replaces it: as each route is registered, each
handler's ``responses`` gets one ``ProblemDetails`` entry under ``application/problem+json``
per status it can answer. Most statuses follow from what the handler is:

    guarded or needs a principal       401 (and 403 if the guard names roles)
    reads a request body               400 malformed, 413 too large, 415 media type, 422 invalid
    path or query parameters           400 malformed, 422 against the text rule (too long,
                                       control characters); path parameters also 404
    opens a database session           503 (transient database errors, with Retry-After);
                                       a write also 409 (a unique or foreign key conflict)

and a handler names the rest itself: ``@post(..., opt={"problems": (409,)})``. The suite
checks the result: every status a test observes must be documented (tests/observed_statuses.py).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import msgspec
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

from server.errors import PROBLEM_JSON

PROBLEMS_OPT = "problems"
# Names Litestar fills itself: they are not parameters a client sends.
_RESERVED = frozenset(
    {"request", "socket", "state", "scope", "headers", "cookies", "query", "body", "data"}
)
_BODY_PROBLEMS = frozenset({400, 413, 415, 422})
_TRANSIENT = frozenset({"db_session", "sync_principal"})
_AUTHENTICATED = frozenset({"principal", "sync_principal"})
# Guards that accept any signed-in caller refuse with 401 only, never 403.
_ANY_ROLE_GUARDS = frozenset({"requires_any"})


class FieldError(msgspec.Struct, kw_only=True):
    """What is wrong with one field of the request."""

    message: str
    key: str | None = None
    source: str | None = None


class ProblemDetails(msgspec.Struct, kw_only=True, rename="camel"):
    """An RFC 9457 problem document: the body of every error answer.

    Branch on ``code`` (stable); show ``title`` / ``detail`` (zh-CN or English, following
    Accept-Language). Some problems add members of their own (e.g. ``supported``, ``scope``,
    ``expectedMid``), as RFC 9457 allows.
    """

    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: str
    request_id: str | None = None
    errors: list[FieldError] | None = None


def problem_response(status: int) -> ResponseSpec:
    """The documentation of one problem status."""
    return ResponseSpec(
        data_container=ProblemDetails,
        media_type=PROBLEM_JSON,
        description=f"{HTTPStatus(status).phrase} (problem+json; branch on `code`)",
        generate_examples=False,
    )


def problem_statuses(handler: HTTPRouteHandler, path_parameters: set[str]) -> set[int]:
    """The problem statuses ``handler`` can answer: from what it is, and what it names."""
    declared: tuple[int, ...] = tuple(handler.opt.get(PROBLEMS_OPT, ()))
    statuses = set(declared)
    dependencies = handler.resolve_dependencies()
    names = set(handler.parsed_fn_signature.parameters)
    for provider in dependencies.values():
        names |= set(provider.parsed_fn_signature.parameters)
    guards = [getattr(guard, "__name__", "") for guard in handler.resolve_guards()]
    if guards or names & _AUTHENTICATED:
        statuses.add(401)
    if any(name not in _ANY_ROLE_GUARDS for name in guards):
        statuses.add(403)
    if "data" in names:
        statuses |= _BODY_PROBLEMS
    if path_parameters:
        statuses |= {400, 404, 422}
    if names - _RESERVED - set(dependencies) - path_parameters:
        statuses |= {400, 422}
    if names & _TRANSIENT:
        statuses.add(503)
        if set(handler.http_methods) - {"GET", "HEAD", "OPTIONS"}:
            statuses.add(409)  # a write can conflict with a row another request holds
    return statuses


class ProblemResponses(ReceiveRoutePlugin):
    """Documents each HTTP handler's problem statuses as it is registered."""

    def receive_route(self, route: BaseRoute) -> None:
        """Add the ProblemDetails responses to every handler of ``route``."""
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            statuses = problem_statuses(handler, set(route.path_parameters))
            own: dict[int, Any] = dict(handler.responses or {})
            problems = {status: problem_response(status) for status in sorted(statuses)}
            handler.responses = {**problems, **own}
