"""Price lists: versions and their history, upload a sheet into a draft (the dry-run diff
first), publish, download the template and an export."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.params import Code, QueryCode
from console.render import page
from console.session import requires_console
from server.errors import Invalid
from server.identity.principal import Principal
from server.pricelists import imports, service

MAX_UPLOAD_BYTES = 64 * 1024 * 1024
TEMPLATE_HEADER = ("商品编码", "单价（元）", "阶梯类型", "阶梯价")


class UploadForm(msgspec.Struct, kw_only=True):
    file: UploadFile | None = None


@get("/price-lists", guards=[requires_console])
async def price_lists(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    code: QueryCode = "",
) -> Template:
    """Every version, grouped by list code, newest first: the history of each list."""
    rows, _ = await service.list_price_lists(
        db_session, code=code or None, status=None, cursor=None, limit=500
    )
    versions = sorted(rows, key=lambda v: (v.code, -v.version))
    counts = await service.count_items_of(db_session, [v.id for v in versions])
    drafts = {v.code for v in versions if v.status == "draft"}
    latest: dict[str, uuid.UUID] = {}
    for v in versions:
        latest.setdefault(v.code, v.id)
    # A list without a draft can start one from its latest version (the service refuses two).
    can_start_draft = {i for c, i in latest.items() if c not in drafts}
    return page(
        request,
        "price_lists.html",
        versions=versions,
        counts=counts,
        can_start_draft=can_start_draft,
        code=code,
    )


@get("/price-lists/{price_list_id:uuid}", guards=[requires_console])
async def price_list_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    price_list_id: FromPath[uuid.UUID],
) -> Template:
    """One version: header, the first items, and (for a draft) the upload form."""
    items, more = await service.list_items(db_session, price_list_id, None, 100)
    version = await service.get_price_list(db_session, price_list_id)
    return page(
        request,
        "price_list.html",
        pl=service.price_list_out(version, await service.count_items(db_session, version.id)),
        items=[service.item_out(i) for i in items],
        more=more is not None,
    )


@post("/price-lists/by-code/{code:str}/draft", guards=[requires_console])
async def start_draft(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    code: Code,
) -> Redirect:
    """A new draft copying the latest version of the list."""
    draft = await service.new_version(db_session, principal, code)
    return Redirect(f"/console/price-lists/{draft.id}", status_code=303)


@post(
    "/price-lists/{price_list_id:uuid}/import",
    guards=[requires_console],
    request_max_body_size=MAX_UPLOAD_BYTES,
)
async def import_sheet(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    price_list_id: FromPath[uuid.UUID],
    data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Template:
    """Check the sheet and diff it (dry run); when every row is valid, put it in the draft."""
    if data.file is None or not data.file.filename:
        raise Invalid("file_required", "请选择要上传的文件", "Choose a file to upload")
    body = await data.file.read()
    name = data.file.filename
    report = await imports.import_where_valid(db_session, principal, price_list_id, body, name)
    version = await service.get_price_list(db_session, price_list_id)
    return page(
        request,
        "price_list_diff.html",
        pl=service.price_list_out(version, await service.count_items(db_session, version.id)),
        report=report,
        filename=name,
        status_code=200 if report.valid else 422,
    )


@post("/price-lists/{price_list_id:uuid}/publish", guards=[requires_console])
async def publish(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    price_list_id: FromPath[uuid.UUID],
) -> Redirect:
    """Publish the draft: dealers' nodes receive it; the previous version is superseded."""
    await service.publish(db_session, principal, price_list_id)
    return Redirect(f"/console/price-lists/{price_list_id}?published=1", status_code=303)


@get("/price-lists/template.csv", guards=[requires_console])
async def template_csv() -> Response[bytes]:
    """An empty sheet with the columns an import reads, and one example row."""
    return _csv("price-list-template.csv", [TEMPLATE_HEADER, ("SKU00001", "12.50", "", "")])


@get("/price-lists/{price_list_id:uuid}/export.csv", guards=[requires_console])
async def export_csv(
    db_session: NamedDependency[AsyncSession], price_list_id: FromPath[uuid.UUID]
) -> Response[bytes]:
    """Every item of a version, in the import's columns (so an export re-imports as is)."""
    version = await service.get_price_list(db_session, price_list_id)
    rows: list[tuple[str, ...]] = [TEMPLATE_HEADER]
    cursor: str | None = None
    while True:
        items, cursor = await service.list_items(db_session, price_list_id, cursor, 500)
        rows += [_row(service.item_out(i)) for i in items]
        if cursor is None:
            break
    return _csv(f"{version.code}-v{version.version}.csv", rows)


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _row(item: Any) -> tuple[str, ...]:
    breaks = "; ".join(
        f"{b.min_qty}{'-' + str(b.max_qty) if b.max_qty else '+'}:{_yuan(b.unit_price)}"
        for b in item.breaks
    )
    return (item.sku, _yuan(item.unit_price), str(item.break_kind or "") if breaks else "", breaks)


def _csv(filename: str, rows: list[tuple[str, ...]]) -> Response[bytes]:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return Response(
        ("\ufeff" + out.getvalue()).encode(),  # the BOM makes Excel read it as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


HANDLERS = (
    price_lists,
    price_list_page,
    start_draft,
    import_sheet,
    publish,
    template_csv,
    export_csv,
)
