"""HQ administration of the catalog: categories, products (SPU) and SKUs."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog import cpq, service
from server.catalog.models import ItemStatus, Product, Sku
from server.catalog.schemas import (
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    ImageUpload,
    ProductCreate,
    ProductOut,
    ProductUpdate,
    SkuCreate,
    SkuOut,
    SkuUpdate,
)
from server.db.repository import get_or_404
from server.identity.guards import requires_hq
from server.identity.principal import Principal
from server.schemas import Page
from server.storage import PresignedPost
from server.text import LINE_RULE

Limit = Annotated[int, QueryParameter(ge=1, le=500)]
Cursor = Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)]


class CategoryController(Controller):
    path = "/hq/catalog/categories"
    tags = ("hq: catalog",)
    guards = (requires_hq,)

    @get("/", summary="List categories")
    async def list_(self, db_session: NamedDependency[AsyncSession]) -> list[CategoryOut]:
        """All categories by sort order."""
        return [service.category_out(c) for c in await service.list_categories(db_session)]

    @post("/", summary="Create a category")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[CategoryCreate],
    ) -> CategoryOut:
        """Add a category, optionally under a parent."""
        return service.category_out(await service.create_category(db_session, principal, data))

    @put("/{category_id:uuid}", summary="Update a category")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        category_id: FromPath[uuid.UUID],
        data: JSONBody[CategoryUpdate],
    ) -> CategoryOut:
        """Rename or reorder a category."""
        return service.category_out(
            await service.update_category(db_session, principal, category_id, data)
        )


class ProductController(Controller):
    path = "/hq/catalog/products"
    tags = ("hq: catalog",)
    guards = (requires_hq,)

    @get("/", summary="List products")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        limit: Limit = 100,
        category_id: Annotated[uuid.UUID | None, QueryParameter(name="categoryId")] = None,
        cursor: Cursor = None,
    ) -> Page[ProductOut]:
        """Products (SPU) ordered by code."""
        rows, next_cursor = await service.list_products(db_session, category_id, cursor, limit)
        return Page(items=[service.product_out(p) for p in rows], next_cursor=next_cursor)

    @post("/", summary="Create a product")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[ProductCreate],
    ) -> ProductOut:
        """Add a product (SPU) in a category."""
        return service.product_out(await service.create_product(db_session, principal, data))

    @get("/{product_id:uuid}", summary="Get a product")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], product_id: FromPath[uuid.UUID]
    ) -> ProductOut:
        """One product."""
        return service.product_out(await get_or_404(db_session, Product, product_id, "product"))

    @put("/{product_id:uuid}", summary="Update a product")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        product_id: FromPath[uuid.UUID],
        data: JSONBody[ProductUpdate],
    ) -> ProductOut:
        """Change the given fields of a product."""
        return service.product_out(
            await service.update_product(db_session, principal, product_id, data)
        )


class SkuController(Controller):
    path = "/hq/catalog/skus"
    tags = ("hq: catalog",)
    guards = (requires_hq,)

    @get("/", summary="List or search SKUs")
    async def list_(
        self,
        *,
        db_session: NamedDependency[AsyncSession],
        limit: Limit = 100,
        q: Annotated[str | None, Parameter(max_length=64, pattern=LINE_RULE)] = None,
        product_id: Annotated[uuid.UUID | None, QueryParameter(name="productId")] = None,
        status: FromQuery[ItemStatus | None] = None,
        cursor: Cursor = None,
    ) -> Page[SkuOut]:
        """SKUs by code; ``q`` matches name, pinyin, pinyin initials, code or barcode."""
        rows, next_cursor = await service.list_skus(
            db_session, q=q, product_id=product_id, status=status, cursor=cursor, limit=limit
        )
        return Page(items=[service.sku_out(s) for s in rows], next_cursor=next_cursor)

    @post("/", summary="Create a SKU")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[SkuCreate],
    ) -> SkuOut:
        """Add a SKU; its pinyin and initials are derived from the name."""
        return service.sku_out(await service.create_sku(db_session, principal, data))

    @get("/{sku_id:uuid}", summary="Get a SKU")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], sku_id: FromPath[uuid.UUID]
    ) -> SkuOut:
        """One SKU."""
        return service.sku_out(await get_or_404(db_session, Sku, sku_id, "sku"))

    @put("/{sku_id:uuid}", summary="Update a SKU")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        sku_id: FromPath[uuid.UUID],
        data: JSONBody[SkuUpdate],
    ) -> SkuOut:
        """Change the given fields of a SKU (``imageKeys`` replaces the images)."""
        return service.sku_out(await service.update_sku(db_session, principal, sku_id, data))

    @post("/{sku_id:uuid}/images", summary="Presign an upload of a SKU image", status_code=200)
    async def presign_image(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        sku_id: FromPath[uuid.UUID],
        data: JSONBody[ImageUpload],
    ) -> PresignedPost:
        """A presigned POST form for one image; add its ``key`` to the SKU's ``imageKeys``."""
        sku = await get_or_404(db_session, Sku, sku_id, "sku")
        storage: Any = state.storage
        key = f"catalog/{sku.code}/{uuid.uuid4().hex}"
        return storage.presign_upload(key, data.content_type)


class BundleController(Controller):
    path = "/hq/catalog/bundles"
    tags = ("hq: catalog",)
    guards = (requires_hq,)

    @get("/", summary="List bundles")
    async def list_(self, db_session: NamedDependency[AsyncSession]) -> list[cpq.BundleOut]:
        """Every fixed bundle, active or not."""
        return [cpq.bundle_out(b) for b in await cpq.list_bundles(db_session, active_only=False)]

    @post("/", summary="Create a fixed bundle")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[cpq.BundleIn],
    ) -> cpq.BundleOut:
        """A set of SKUs sold at a bundle price per complete set."""
        return cpq.bundle_out(await cpq.create_bundle(db_session, principal, data))

    @put("/{bundle_id:uuid}", summary="Update a bundle")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        bundle_id: FromPath[uuid.UUID],
        data: JSONBody[cpq.BundleUpdate],
    ) -> cpq.BundleOut:
        """Change a bundle (its version grows; prices follow on the next request)."""
        return cpq.bundle_out(await cpq.update_bundle(db_session, principal, bundle_id, data))


class ConfigurableController(Controller):
    path = "/hq/catalog/configurables"
    tags = ("hq: catalog",)
    guards = (requires_hq,)

    @get("/", summary="List configurable products")
    async def list_(self, db_session: NamedDependency[AsyncSession]) -> list[cpq.ConfigurableOut]:
        """Every configurable product with its options and constraints."""
        return [cpq.configurable_out(r) for r in await cpq.list_configurables(db_session)]

    @post("/", summary="Create a configurable product")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[cpq.ConfigurableIn],
    ) -> cpq.ConfigurableOut:
        """Option groups with min/max choices and requires/excludes constraints."""
        return cpq.configurable_out(await cpq.create_configurable(db_session, principal, data))
