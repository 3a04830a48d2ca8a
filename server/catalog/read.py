"""Read model of the catalog domain: the statements other domains run on catalog tables.

The catalog owns ``skus``, ``products``, ``categories``, ``bundles`` and ``catalog_revisions``.
Pricing reads them on hot paths (a cart, a catalog page), so the statements stay Core and are
run by the caller's executor; only their construction lives here, with the owner.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.catalog.models import Bundle, CatalogRevision, Category, ItemStatus, Product, Sku
from server.catalog.service import REVISION_SQL, search_filter
from server.db.repository import get_or_404
from server.errors import NotFound
from server.pricing import BundleComponent, FixedBundle

# What pricing needs of a SKU (``server.pricelists.loading.SkuRule``).
SKU_RULE_COLUMNS = (
    Sku.code,
    Sku.name,
    Sku.pack_size,
    Sku.min_order_qty,
    Sku.whole_cases,
    Sku.status,
    Sku.id,
)

_PAGE_COLUMNS = (
    Sku.id,
    Sku.code,
    Sku.name,
    Sku.spec,
    Sku.unit,
    Sku.pack_size,
    Sku.min_order_qty,
    Sku.whole_cases,
    Sku.barcode,
    Sku.image_keys,
    Sku.status,
    Product.brand,
    Product.category_id,
)


__all__ = [
    "REVISION_SQL",
    "SKU_RULE_COLUMNS",
    "active_bundles",
    "get_active_sku",
    "is_active",
    "require_sku",
    "sku_page_select",
    "sku_rules_select",
]


def sku_rules_select(codes: Iterable[str]) -> Select[*tuple[Any, ...]]:
    """``SKU_RULE_COLUMNS`` of these SKU codes, any status."""
    return select(*SKU_RULE_COLUMNS).where(Sku.code.in_(list(codes)))


def is_active(status: object) -> bool:
    """Whether a catalog status column value means orderable."""
    return status == ItemStatus.ACTIVE


def sku_page_select(
    *, category_id: uuid.UUID | None, q: str | None, after: str | None, limit: int
) -> Select[*tuple[Any, ...]]:
    """Active SKUs of active products by code after ``after`` (``limit`` rows), with brand and
    category, optionally within a category (and its children) or matching a search."""
    stmt = (
        select(*_PAGE_COLUMNS)
        .join(Product, Product.id == Sku.product_id)
        .where(Sku.status == ItemStatus.ACTIVE, Product.status == ItemStatus.ACTIVE)
    )
    if category_id is not None:
        children = select(Category.id).where(
            or_(Category.id == category_id, Category.parent_id == category_id)
        )
        stmt = stmt.where(Product.category_id.in_(children))
    if q:
        stmt = stmt.where(search_filter(q))
    if after is not None:
        stmt = stmt.where(Sku.code > after)
    return stmt.order_by(Sku.code).limit(limit)


async def get_active_sku(session: AsyncSession, sku_id: uuid.UUID) -> tuple[Sku, Product]:
    """An active SKU and its product, or ``sku_not_found`` (404)."""
    sku = await get_or_404(session, Sku, sku_id, "sku")
    if sku.status is not ItemStatus.ACTIVE:
        raise NotFound("sku_not_found")
    product = await get_or_404(session, Product, sku.product_id, "product")
    return sku, product


async def active_bundles(executor: AsyncConnection | AsyncSession) -> tuple[FixedBundle, ...]:
    """Active bundles as pricing-pipeline order steps (uncached: pricing caches them)."""
    stmt = select(
        Bundle.code,
        Bundle.name,
        Bundle.currency,
        Bundle.bundle_price,
        Bundle.components,
        Bundle.priority,
        Bundle.version,
    ).where(Bundle.status == ItemStatus.ACTIVE)
    return tuple(
        FixedBundle(
            rule_id=r.code,
            rule_version=r.version,
            currency=r.currency,
            bundle_price=r.bundle_price,
            name=r.name,
            priority=r.priority,
            components=tuple(BundleComponent(sku=c["sku"], qty=c["qty"]) for c in r.components),
        )
        for r in (await executor.execute(stmt)).all()
    )


async def require_sku(session: AsyncSession, sku_id: uuid.UUID) -> None:
    """Nothing, or ``sku_not_found`` (404)."""
    await get_or_404(session, Sku, sku_id, "sku")


def revision_scalar() -> Any:
    """The catalog revision as a scalar subquery, for a statement that reads it with others."""
    return select(CatalogRevision.value).where(CatalogRevision.id == 1).scalar_subquery()
