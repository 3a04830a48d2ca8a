"""Dealer catalog browse with *my* prices, and cart pricing with its explanation."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog import cpq, service
from server.catalog.schemas import CategoryOut, DealerSkuOut
from server.db.base import utcnow
from server.identity.guards import requires_dealer
from server.identity.principal import Principal
from server.pricelists import (
    CartIn,
    PricedCartOut,
    browse,
    price_for_dealer,
    price_with_settlement,
    priced_cart_out,
)
from server.pricing import CartLine
from server.schemas import Page, path_text
from server.schemas import Response as ApiResponse
from server.text import LINE_RULE


def _dealer(principal: Principal) -> uuid.UUID:
    assert principal.dealer_id is not None  # requires_dealer guarantees it
    return principal.dealer_id


class CatalogController(Controller):
    path = "/mp/catalog"
    tags = ("mini-program: catalog",)
    guards = (requires_dealer,)

    @get("/categories", summary="Catalog categories")
    async def categories(self, db_session: NamedDependency[AsyncSession]) -> list[CategoryOut]:
        """Every category by sort order."""
        return [service.category_out(c) for c in await service.list_categories(db_session)]

    @get("/skus", summary="Browse SKUs with my prices")
    async def skus(
        self,
        *,
        state: State,
        principal: NamedDependency[Principal],
        q: Annotated[str | None, Parameter(max_length=64, pattern=LINE_RULE)] = None,
        category_id: Annotated[uuid.UUID | None, QueryParameter(name="categoryId")] = None,
        cursor: Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
    ) -> Response[Page[DealerSkuOut]]:
        """Active SKUs by code with my unit price and breaks; ``q`` matches name, pinyin,
        pinyin initials (nfsq), code or barcode."""
        query = browse.CatalogQuery(
            q=q or None, category_id=category_id, cursor=cursor, limit=limit
        )
        body = await browse.catalog_page(
            state.database,
            state.pricing_cache,
            state.storage,
            dealer_id=_dealer(principal),
            currency=state.settings.currency,
            now=utcnow(),
            query=query,
        )
        content: Any = body
        return Response(content, media_type="application/json")

    @get("/skus/{sku_id:uuid}", summary="One SKU with my price and breaks")
    async def sku(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        sku_id: FromPath[uuid.UUID],
    ) -> DealerSkuOut:
        """An active SKU, its images and my price with its volume breaks."""
        return await browse.sku_detail(
            db_session,
            state.pricing_cache,
            state.storage,
            dealer_id=_dealer(principal),
            currency=state.settings.currency,
            now=utcnow(),
            sku_id=sku_id,
        )


class CartController(Controller):
    path = "/mp/cart"
    tags = ("mini-program: catalog",)
    guards = (requires_dealer,)

    @post("/price", summary="Price my cart", status_code=200)
    async def price(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[CartIn],
    ) -> PricedCartOut:
        """Price every line through the pipeline and explain each step (one call per cart),
        with the settlement: the rebate it would use, the cap and why, then prepaid."""
        lines = [CartLine(sku=line.sku, qty=line.qty) for line in data.lines]
        priced, _ = await price_with_settlement(
            db_session,
            state.pricing_cache,
            _dealer(principal),
            currency=state.settings.currency,
            now=utcnow(),
            lines=lines,
            use_rebate=data.use_rebate,
            rebate_amount=data.rebate_amount,
        )
        return priced_cart_out(priced)


class ConfiguredOut(ApiResponse, kw_only=True):
    lines: list[cpq.ConfiguredLine]
    cart: PricedCartOut


class CpqController(Controller):
    path = "/mp/catalog"
    tags = ("mini-program: catalog",)
    guards = (requires_dealer,)

    @get("/bundles", summary="Bundles on sale")
    async def bundles(self, db_session: NamedDependency[AsyncSession]) -> list[cpq.BundleOut]:
        """Active fixed bundles; a cart holding a complete set gets the bundle price."""
        return [cpq.bundle_out(b) for b in await cpq.list_bundles(db_session, active_only=True)]

    @get("/configurables/{code:str}", summary="A configurable product")
    async def configurable(
        self, db_session: NamedDependency[AsyncSession], code: Annotated[str, path_text(32)]
    ) -> cpq.ConfigurableOut:
        """Its option groups (min/max) and requires/excludes constraints."""
        return cpq.configurable_out(await cpq.get_configurable(db_session, code))

    @post(
        "/configurables/{code:str}/configure",
        summary="Configure and price a product",
        status_code=200,
    )
    async def configure(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        code: Annotated[str, path_text(32)],
        data: JSONBody[cpq.ConfigureIn],
    ) -> ConfiguredOut:
        """The configuration's cart lines priced for me; a violated constraint is a 422
        naming it."""
        lines = await cpq.configure(db_session, code, data)
        priced, _ = await price_for_dealer(
            db_session,
            state.pricing_cache,
            _dealer(principal),
            currency=state.settings.currency,
            now=utcnow(),
            lines=lines,
        )
        return ConfiguredOut(
            lines=[cpq.ConfiguredLine(sku=line.sku, qty=line.qty) for line in lines],
            cart=priced_cart_out(priced),
        )
