"""Delivery: for each recent publication, which dealers' nodes have it, laggards first, and
a button that pokes the scope's nodes again."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.params import VERSION, QueryCode, QueryText
from console.render import page
from console.session import requires_console
from server.dealers.service import dealer_labels
from server.errors import Invalid
from server.text import one_line
from sync import latest_publications, node_dealers, publication_status

# What HQ publishes (dealers' own scopes carry their orders and balances, not publications).
PUBLISHED = ("price:", "promo:", "stock:")


class PokeForm(msgspec.Struct, kw_only=True):
    scope: Annotated[str, one_line(200)] = ""
    version: Annotated[int, VERSION] = 0


LAGGARDS_LISTED = 10
"""Laggards named per publication on the page of all; one publication's page names more."""
LAGGARDS_OF_ONE = 200


async def publications(
    db_session: AsyncSession, limit: int, laggards: int, scope: str = ""
) -> list[dict[str, Any]]:
    """The latest publications (or ``scope``'s alone) with how many subscribed nodes
    acknowledged them, and who lags."""
    heads = await latest_publications(db_session, (scope,) if scope else PUBLISHED, limit=limit)
    if scope:
        heads = [h for h in heads if h.scope == scope]
    out: list[dict[str, Any]] = []
    for head in heads:
        status = await publication_status(db_session, head.scope, head.version, limit=laggards)
        out.append({"head": head, "status": status})
    return out


async def _dealer_of_nodes(db_session: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, Any]:
    node_ids = [n.node_id for r in rows for n in r["status"].lagging]
    dealers = await node_dealers(db_session, node_ids)
    ids = {uuid.UUID(d) for d in dealers.values() if d}
    labels = await dealer_labels(db_session, ids)
    return {n: labels.get(uuid.UUID(d), (d, "")) if d else ("", "") for n, d in dealers.items()}


@get("/delivery", guards=[requires_console])
async def delivery(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    poked: QueryCode = "",
    publication: QueryText = "",
) -> Template:
    """Who has each publication, the most behind first (``publication``: that scope alone,
    with more of its laggards)."""
    if publication and not publication.startswith(PUBLISHED):
        raise Invalid(
            "scope_invalid", "只能查看总部发布的数据范围", "Only HQ publications are shown"
        )
    laggards = LAGGARDS_OF_ONE if publication else LAGGARDS_LISTED
    rows = await publications(db_session, limit=20, laggards=laggards, scope=publication)
    return page(
        request,
        "delivery.html",
        rows=rows,
        dealers=await _dealer_of_nodes(db_session, rows),
        poked=poked,
        publication=publication,
    )


@post("/delivery/poke", guards=[requires_console])
async def repoke(
    state: State, data: Annotated[PokeForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Redirect:
    """Poke every node of the scope again (on every replica); lagging nodes then pull."""
    if not data.scope.startswith(PUBLISHED) or data.version < 1:
        raise Invalid(
            "scope_invalid", "只能重新推送总部发布的数据范围", "Only HQ publications can be poked"
        )
    await state.hub.publish({data.scope: data.version})
    return Redirect(f"/console/delivery?poked={data.scope}", status_code=303)


HANDLERS = (delivery, repoke)
