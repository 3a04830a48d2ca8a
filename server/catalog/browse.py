"""Dealer-facing catalog: pages of SKUs with the dealer's own price, and one SKU's detail.

The page is the hot path: per request it reads one counter (the catalog revision) with a
Core statement and, when the page for that revision and the dealer's applicable price-list
versions is cached, answers the cached bytes. A publish bumps the revision in its own
transaction, so the very next request renders the new prices.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.models import Category, ItemStatus, Product, Sku
from server.catalog.schemas import (
    BreakOut,
    DealerSkuOut,
    MyPrice,
    PriceProblem,
    RuleRefOut,
)
from server.catalog.service import read_revision, search_filter
from server.db.engine import Database
from server.db.repository import get_or_404
from server.errors import NotFound
from server.pricelists.loading import (
    Executor,
    Heads,
    PricingCache,
    SkuRule,
    candidate_lists,
    load_dealer_facts,
    load_heads,
    load_lists_with_items,
    sku_rule,
)
from server.pricing import DealerFacts, LineError, PriceList, PriceResolver
from server.schemas import Page, decode_cursor, encode_cursor

IMAGE_LINK_TTL = 24 * 3600
_JSON = msgspec.json.Encoder()


class CatalogQuery(msgspec.Struct, frozen=True, kw_only=True):
    q: str | None = None
    category_id: uuid.UUID | None = None
    cursor: str | None = None
    limit: int = 50


def _price(resolver: PriceResolver, code: str) -> tuple[MyPrice | None, PriceProblem | None]:
    try:
        resolved = resolver.resolve(code)
    except LineError as exc:
        return None, PriceProblem(code=exc.code, message=exc.message)
    item = resolved.item
    return MyPrice(
        currency=resolved.price_list.currency,
        unit_price=item.unit_price,
        break_kind=str(item.break_kind),
        breaks=[
            BreakOut(min_qty=b.min_qty, unit_price=b.unit_price, max_qty=b.max_qty)
            for b in item.breaks
        ],
        price_list=RuleRefOut(id=resolved.price_list.id, version=resolved.price_list.version),
    ), None


def _images(storage: Any, keys: list[str] | None) -> list[str]:
    return [storage.presign_download(key, IMAGE_LINK_TTL) for key in keys or ()]


def _dealer_sku(row: Any, resolver: PriceResolver, storage: Any) -> DealerSkuOut:
    price, problem = _price(resolver, row.code)
    return DealerSkuOut(
        id=row.id,
        code=row.code,
        name=row.name,
        spec=row.spec,
        unit=row.unit,
        pack_size=row.pack_size,
        min_order_qty=row.min_order_qty,
        whole_cases=row.whole_cases,
        barcode=row.barcode,
        brand=row.brand,
        category_id=row.category_id,
        images=_images(storage, row.image_keys),
        price=price,
        price_problem=problem,
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


async def _render_page(
    conn: Executor,
    cache: PricingCache,
    *,
    revision: int,
    storage: Any,
    lists: tuple[PriceList, ...],
    dealer: Any,
    currency: str,
    now: datetime,
    query: CatalogQuery,
) -> bytes:
    stmt = (
        select(*_PAGE_COLUMNS)
        .join(Product, Product.id == Sku.product_id)
        .where(Sku.status == ItemStatus.ACTIVE, Product.status == ItemStatus.ACTIVE)
    )
    if query.category_id is not None:
        children = select(Category.id).where(
            or_(Category.id == query.category_id, Category.parent_id == query.category_id)
        )
        stmt = stmt.where(Product.category_id.in_(children))
    if query.q:
        stmt = stmt.where(search_filter(query.q))
    after = decode_cursor(query.cursor)
    if after is not None:
        stmt = stmt.where(Sku.code > after)
    rows = (await conn.execute(stmt.order_by(Sku.code).limit(query.limit + 1))).all()
    next_cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        next_cursor = encode_cursor(rows[-1].code)
    rules: dict[str, SkuRule] = {r.code: sku_rule(r) for r in rows}
    heads = await load_heads(conn, cache, revision)
    priced = await load_lists_with_items(conn, heads, lists, rules)
    resolver = PriceResolver(priced, dealer, currency, now)
    page = Page(items=[_dealer_sku(r, resolver, storage) for r in rows], next_cursor=next_cursor)
    return _JSON.encode(page)


async def catalog_page(
    database: Database,
    cache: PricingCache,
    storage: Any,
    *,
    dealer_id: uuid.UUID,
    currency: str,
    now: datetime,
    query: CatalogQuery,
) -> bytes:
    """One page of active SKUs with the dealer's price, as JSON bytes (cached)."""
    revision = await cache.revision(database)
    heads = cache.heads(revision)
    dealer = cache.facts(revision, dealer_id)
    if heads is not None and dealer is not None:
        body = cache.page(
            _page_key(revision, heads, dealer, currency=currency, now=now, query=query)
        )
        if body is not None:
            return body  # the hot path: one tiny SELECT, no ORM, cached bytes
    async with cache.reader(database).connect() as conn:
        heads = await load_heads(conn, cache, revision)
        dealer = await load_dealer_facts(conn, cache, revision, dealer_id)
        key = _page_key(revision, heads, dealer, currency=currency, now=now, query=query)
        body = cache.page(key)
        if body is None:
            lists = candidate_lists(heads, dealer, currency, now)
            body = await _render_page(
                conn,
                cache,
                revision=revision,
                storage=storage,
                lists=lists,
                dealer=dealer,
                currency=currency,
                now=now,
                query=query,
            )
            cache.store_page(key, body)
    return body


def _page_key(
    revision: int,
    heads: Heads,
    dealer: DealerFacts,
    *,
    currency: str,
    now: datetime,
    query: CatalogQuery,
) -> tuple[Any, ...]:
    """A page depends on the revision, the versions of the lists that apply (in effect now)
    and the query; image links are re-signed every hour."""
    lists = candidate_lists(heads, dealer, currency, now)
    return (
        revision,
        tuple((pl.id, pl.version) for pl in lists),
        query,
        int(now.timestamp()) // 3600,
    )


async def sku_detail(
    session: AsyncSession,
    cache: PricingCache,
    storage: Any,
    *,
    dealer_id: uuid.UUID,
    currency: str,
    now: datetime,
    sku_id: uuid.UUID,
) -> DealerSkuOut:
    """One active SKU with the dealer's price and breaks."""
    sku = await get_or_404(session, Sku, sku_id, "sku")
    if sku.status is not ItemStatus.ACTIVE:
        raise NotFound("sku_not_found")
    product = await get_or_404(session, Product, sku.product_id, "product")
    revision = await read_revision(session)
    heads = await load_heads(session, cache, revision)
    dealer = await load_dealer_facts(session, cache, revision, dealer_id)
    lists = candidate_lists(heads, dealer, currency, now)
    rule = SkuRule(
        code=sku.code,
        name=sku.name,
        pack_size=sku.pack_size,
        min_qty=sku.min_order_qty,
        whole_cases=sku.whole_cases,
        active=True,
        id=sku.id,
    )
    priced = await load_lists_with_items(session, heads, lists, {sku.code: rule})
    resolver = PriceResolver(priced, dealer, currency, now)
    price, problem = _price(resolver, sku.code)
    return DealerSkuOut(
        id=sku.id,
        code=sku.code,
        name=sku.name,
        spec=sku.spec,
        unit=sku.unit,
        pack_size=sku.pack_size,
        min_order_qty=sku.min_order_qty,
        whole_cases=sku.whole_cases,
        barcode=sku.barcode,
        brand=product.brand,
        category_id=product.category_id,
        images=_images(storage, sku.image_keys),
        price=price,
        price_problem=problem,
    )


__all__ = ["CatalogQuery", "catalog_page", "sku_detail"]
