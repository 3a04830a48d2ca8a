"""Dealers: the list (search by code or name, filter by tier and region, paged) and one
dealer with its tier, regions, balances and the sync state of its channel nodes."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.params import QueryCode, QueryText
from console.render import page
from console.session import requires_console
from server.accounts import balances_out, dealer_balances
from server.dealers import dealer_out, get_dealer
from server.dealers.service import dealer_labels, list_dealers, list_tiers
from server.regions.service import region_names
from sync import NodeLag, dealer_nodes

PAGE_SIZE = 50


def by_node(rows: list[NodeLag]) -> list[dict[str, Any]]:
    """The node rows grouped per node (kept in the order the read gave: latest seen first)."""
    nodes: dict[str, dict[str, Any]] = {}
    for row in rows:
        node = nodes.setdefault(
            row.node_id,
            {"id": row.node_id, "kind": row.kind, "last_seen_at": row.last_seen_at, "scopes": []},
        )
        node["scopes"].append(row)
    return list(nodes.values())


@get("/dealers", guards=[requires_console])
async def dealers(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    q: QueryCode = "",
    tier: QueryCode = "",
    region: QueryCode = "",
    cursor: QueryText = "",
) -> Template:
    """Dealers by code, filtered; a page of 50 at a time."""
    rows, next_cursor = await list_dealers(
        db_session,
        tier=tier or None,
        status=None,
        region=region.strip() or None,
        q=q.strip() or None,
        cursor=cursor or None,
        limit=PAGE_SIZE,
    )
    found = [dealer_out(d) for d in rows]
    return page(
        request,
        "dealers.html",
        dealers=found,
        tiers=await list_tiers(db_session),
        regions=await region_names(db_session, {c for d in found for c in d.region_codes}),
        next_cursor=next_cursor,
        form={"q": q, "tier": tier, "region": region},
    )


@get("/dealers/{dealer_id:uuid}", guards=[requires_console])
async def dealer_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    dealer_id: FromPath[uuid.UUID],
) -> Template:
    """One dealer: tier, regions, balances, and what each of its nodes acknowledged."""
    dealer = dealer_out(await get_dealer(db_session, dealer_id))
    tiers = {t.code: t for t in await list_tiers(db_session)}
    parents = await dealer_labels(db_session, [dealer.parent_id] if dealer.parent_id else [])
    balances = await dealer_balances(db_session, dealer_id)
    return page(
        request,
        "dealer.html",
        dealer=dealer,
        tier=tiers.get(dealer.tier_code),
        regions=await region_names(db_session, dealer.region_codes),
        parent=parents.get(dealer.parent_id) if dealer.parent_id else None,
        balances=balances,
        rebate_rule=balances_out(balances).rebate_rule,
        nodes=by_node(await dealer_nodes(db_session, str(dealer_id))),
    )


HANDLERS = (dealers, dealer_page)
