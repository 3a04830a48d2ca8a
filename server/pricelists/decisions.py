"""Price-list decisions in the approval trail (``server.trail``).

The state a decision is about: the list's header (code, version, scope and key, priority,
currency, validity) and ``itemsDigest``, the SHA-256 of the canonical JSON of its items in
SKU order (``[sku, unit price, break kind, breaks]`` each).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.pricelists.models import PriceListEntry, PriceListVersion
from server.trail import Actor, content_hash, note_decision


async def decision_state(session: AsyncSession, pl: PriceListVersion) -> dict[str, Any]:
    """The header and the digest of the items, as the trail hashes them."""
    e = PriceListEntry
    rows = await session.execute(
        select(e.sku_code, e.unit_price, e.break_kind, e.breaks)
        .where(e.price_list_id == pl.id)
        .order_by(e.sku_code)
    )
    return {
        "code": pl.code,
        "version": pl.version,
        "scope": str(pl.scope),
        "scopeKey": pl.scope_key,
        "priority": pl.priority,
        "currency": pl.currency,
        "effectiveFrom": pl.effective_from,
        "effectiveTo": pl.effective_to,
        "itemsDigest": content_hash({"items": [list(r) for r in rows]}),
    }


async def note_price_list_decision(
    session: AsyncSession, actor: Actor | None, pl: PriceListVersion, outcome: str
) -> None:
    """Note ``outcome`` (``published``) on ``pl`` in the approval trail."""
    state = await decision_state(session, pl)
    note_decision(session, actor, "price_list", pl.id, outcome, state)
