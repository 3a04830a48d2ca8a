"""A published price list becomes a sync publication in the publishing transaction.

Each scope receives the list's header (entity ``price_list``, key = code) and one change per
SKU (entity ``price``, key ``{code}:{sku}``); SKUs the previous version priced and the new
one does not are published as deletes, so an offline node converges to the new list.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.pricelists.models import PriceListEntry, PriceListStatus, PriceListVersion
from server.pricelists.schemas import BreakOut
from server.pricing import Scope
from sync import publish, publish_many


def sync_scopes(price_list: PriceListVersion) -> list[str]:
    """The sync scopes whose nodes must receive this list."""
    if price_list.scope is Scope.DEFAULT:
        return ["price:default"]
    if price_list.scope is Scope.TIER:
        return [f"price:tier:{price_list.scope_key}"]
    if price_list.scope is Scope.REGION:
        return [f"price:region:{price_list.scope_key}"]
    return [f"dealer:{price_list.scope_key}"]


def _header(pl: PriceListVersion) -> dict[str, Any]:
    return {
        "code": pl.code,
        "version": pl.version,
        "name": pl.name,
        "scope": str(pl.scope),
        "scopeKey": pl.scope_key,
        "priority": pl.priority,
        "currency": pl.currency,
        "effectiveFrom": pl.effective_from.isoformat() if pl.effective_from else None,
        "effectiveTo": pl.effective_to.isoformat() if pl.effective_to else None,
    }


async def publish_price_list_change(
    session: AsyncSession, price_list: PriceListVersion, scopes: list[str]
) -> None:
    """Publish the new version's header and items (and removals) to ``scopes``."""
    items = (
        (
            await session.execute(
                select(PriceListEntry)
                .where(PriceListEntry.price_list_id == price_list.id)
                .order_by(PriceListEntry.sku_code)
            )
        )
        .scalars()
        .all()
    )
    previous_skus = set(
        (
            await session.execute(
                select(PriceListEntry.sku_code)
                .join(PriceListVersion, PriceListVersion.id == PriceListEntry.price_list_id)
                .where(
                    PriceListVersion.code == price_list.code,
                    PriceListVersion.status == PriceListStatus.SUPERSEDED,
                    PriceListVersion.version == price_list.version - 1,
                )
            )
        ).scalars()
    )
    current = {item.sku_code for item in items}
    changes: list[tuple[str, Any, Any]] = [
        (
            f"{price_list.code}:{item.sku_code}",
            "upsert",
            {
                "priceList": price_list.code,
                "version": price_list.version,
                "sku": item.sku_code,
                "unitPrice": item.unit_price,
                "currency": price_list.currency,
                "breakKind": item.break_kind,
                "breaks": [BreakOut(**b) for b in item.breaks or ()],
                "priority": price_list.priority,
            },
        )
        for item in items
    ]
    changes += [
        (f"{price_list.code}:{sku}", "delete", None) for sku in sorted(previous_skus - current)
    ]
    for scope in scopes:
        await publish(session, scope, "price_list", price_list.code, "upsert", _header(price_list))
        if changes:
            await publish_many(session, scope, "price", changes)
