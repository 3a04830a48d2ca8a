"""The one call site where a published price list becomes a sync publication.

``publish_price_list_change`` is called inside the publish transaction. The sync engine is
built in parallel: the integrator wires this function to ``sync.publish(scope, ...)`` for
each scope returned by ``sync_scopes``; until then it records nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.pricelists.models import PriceListVersion
from server.pricing import Scope


def sync_scopes(price_list: PriceListVersion) -> list[str]:
    """The sync scopes whose nodes must receive this list."""
    if price_list.scope is Scope.DEFAULT:
        return ["price:default"]
    if price_list.scope is Scope.TIER:
        return [f"price:tier:{price_list.scope_key}"]
    if price_list.scope is Scope.REGION:
        return [f"price:region:{price_list.scope_key}"]
    return [f"dealer:{price_list.scope_key}"]


async def publish_price_list_change(
    session: AsyncSession, price_list: PriceListVersion, scopes: list[str]
) -> None:
    """Publish the new version to ``scopes`` in the caller's transaction (wired by the
    integrator to ``sync.publish``; a no-op until the sync engine exists)."""
    del session, price_list, scopes
