"""HQ administration of price lists: drafts, items, import, publish."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.apidocs.bodies import PRICE_FILE
from server.db.repository import get_or_404
from server.identity.guards import requires_hq
from server.identity.principal import Principal
from server.pricelists import imports, service
from server.pricelists.models import PriceListStatus, PriceListVersion
from server.pricelists.schemas import (
    ItemOut,
    ItemsReplace,
    PriceListCreate,
    PriceListOut,
    PriceListUpdate,
)
from server.schemas import Page, path_text
from server.text import LINE_RULE

Limit = Annotated[int, QueryParameter(ge=1, le=1000)]
Cursor = Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)]
MAX_IMPORT_BYTES = 64 * 1024 * 1024


async def _out(session: AsyncSession, pl: PriceListVersion) -> PriceListOut:
    return service.price_list_out(pl, await service.count_items(session, pl.id))


class PriceListController(Controller):
    path = "/hq/price-lists"
    tags = ("hq: pricing",)
    guards = (requires_hq,)

    @get("/", summary="List price list versions")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        limit: Limit = 100,
        code: Annotated[str | None, Parameter(max_length=32, pattern=LINE_RULE)] = None,
        status: FromQuery[PriceListStatus | None] = None,
        cursor: Cursor = None,
    ) -> Page[PriceListOut]:
        """Every version (drafts, published, superseded), filtered by code or status."""
        rows, next_cursor = await service.list_price_lists(
            db_session, code=code, status=status, cursor=cursor, limit=limit
        )
        return Page(items=[await _out(db_session, pl) for pl in rows], next_cursor=next_cursor)

    @post("/", summary="Create a price list (version 1, draft)")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[PriceListCreate],
    ) -> PriceListOut:
        """A new list as a draft with its scope, priority, currency, window and items."""
        return await _out(db_session, await service.create_price_list(db_session, principal, data))

    @post("/by-code/{code:str}/versions", summary="Start a new draft version of a price list")
    async def new_version(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        code: Annotated[str, path_text(32)],
    ) -> PriceListOut:
        """Copy the latest version of the list into a new draft (409 if a draft exists)."""
        return await _out(db_session, await service.new_version(db_session, principal, code))

    @get("/{price_list_id:uuid}", summary="Get a price list version")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], price_list_id: FromPath[uuid.UUID]
    ) -> PriceListOut:
        """One version's header and item count."""
        pl = await get_or_404(db_session, PriceListVersion, price_list_id, "price_list")
        return await _out(db_session, pl)

    @put("/{price_list_id:uuid}", summary="Update a draft's header")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        price_list_id: FromPath[uuid.UUID],
        data: JSONBody[PriceListUpdate],
    ) -> PriceListOut:
        """Change a draft's name, priority or effective window."""
        pl = await service.update_price_list(db_session, principal, price_list_id, data)
        return await _out(db_session, pl)

    @delete("/{price_list_id:uuid}", summary="Delete a draft")
    async def remove(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        price_list_id: FromPath[uuid.UUID],
    ) -> None:
        """Delete a draft version (published versions are kept forever)."""
        await service.delete_draft(db_session, principal, price_list_id)

    @get("/{price_list_id:uuid}/items", summary="List a version's items")
    async def items(
        self,
        db_session: NamedDependency[AsyncSession],
        price_list_id: FromPath[uuid.UUID],
        limit: Limit = 500,
        cursor: Cursor = None,
    ) -> Page[ItemOut]:
        """Items by SKU code."""
        rows, next_cursor = await service.list_items(db_session, price_list_id, cursor, limit)
        return Page(items=[service.item_out(e) for e in rows], next_cursor=next_cursor)

    @put("/{price_list_id:uuid}/items", summary="Replace a draft's items")
    async def replace_items(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        price_list_id: FromPath[uuid.UUID],
        data: JSONBody[ItemsReplace],
    ) -> PriceListOut:
        """Replace every item of a draft (validated: known SKUs, no duplicates, valid breaks)."""
        pl = await service.replace_items(db_session, principal, price_list_id, data.items)
        return await _out(db_session, pl)

    @post(
        "/{price_list_id:uuid}/import",
        summary="Import a draft's items from Excel or CSV",
        status_code=200,
        request_max_body_size=MAX_IMPORT_BYTES,
        operation_class=PRICE_FILE,
        opt={"problems": (400, 413, 415, 422)},
    )
    async def import_items(
        self,
        *,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        request: Request,
        price_list_id: FromPath[uuid.UUID],
        dry_run: Annotated[bool, QueryParameter(name="dryRun")] = True,
        filename: Annotated[str, Parameter(max_length=256, pattern=LINE_RULE)] = "",
    ) -> imports.ImportReport:
        """Validate a .xlsx/.csv body row by row and diff it against the published version;
        without ``dryRun`` the draft's items are replaced (only when every row is valid)."""
        body = await request.body()
        return await imports.import_into_draft(
            db_session, principal, price_list_id, body, filename, dry_run=dry_run
        )

    @post("/{price_list_id:uuid}/publish", summary="Publish a draft", status_code=200)
    async def publish(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        price_list_id: FromPath[uuid.UUID],
    ) -> PriceListOut:
        """Publish: refuses equally-ranked conflicts (409); supersedes the previous version."""
        return await _out(db_session, await service.publish(db_session, principal, price_list_id))
