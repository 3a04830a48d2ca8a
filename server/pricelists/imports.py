"""Price-list import from Excel (.xlsx) and CSV: row-level report, dry-run diff, apply.

Columns (the header row; Chinese or English names): ``sku`` / 商品编码, ``unit_price`` /
单价 (yuan, at most two decimals), optional ``break_kind`` / 阶梯类型 (range or slab) and
``breaks`` / 阶梯价 written ``10-49:3.20; 50+:3.00`` (from-to quantities and a yuan price,
the last break open-ended). A file-level problem (not a spreadsheet, merged cells, wrong
columns, too many rows) is a 422 problem; row problems (unknown SKU, bad price, overlapping
breaks, duplicate, formula) are listed in the report, and nothing is written unless every
row is valid. Import only ever replaces a draft's items: publishing is a separate step.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import uuid
import zipfile
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.catalog import existing_sku_codes
from server.db.repository import get_or_404
from server.errors import Conflict, Invalid
from server.identity.principal import Principal
from server.messages import both
from server.pricelists.models import PriceListEntry, PriceListStatus, PriceListVersion
from server.pricelists.schemas import MAX_UNIT_PRICE
from server.pricelists.service import write_items
from server.pricing import BreakKind, VolumeBreak, validate_breaks
from server.schemas import Response

MAX_ROWS = 200_000
MAX_REPORTED_ERRORS = 1000
MAX_LISTED_CHANGES = 200
Progress = Callable[[int], None]

COLUMNS: dict[str, tuple[str, ...]] = {
    "sku": ("sku", "sku_code", "skucode", "商品编码", "sku编码", "编码"),
    "unit_price": ("unit_price", "unitprice", "price", "单价", "单价(元)", "单价（元）", "价格"),
    "break_kind": ("break_kind", "breakkind", "阶梯类型"),
    "breaks": ("breaks", "阶梯价", "阶梯"),
}
# Quantities of at most 9 digits: they fit the 10**9 quantity bound (and int() never sees
# thousands of digits).
_BREAK = re.compile(r"^\s*(\d{1,9})\s*(?:(?:-|~|—)\s*(\d{1,9})|(\+))?\s*[:：]\s*(\S+)\s*$")


class RowError(Response, kw_only=True):
    row: int
    column: str | None
    code: str
    message: str
    message_en: str = ""
    sku: str | None = None


def _row_error(
    row: int, column: str, code: str, sku: str | None = None, key: str = "", **params: Any
) -> RowError:
    """A row's error with the catalogue's zh-CN and English texts."""
    texts = both(key or f"import.{code}", row=row, column=column, sku=sku, **params)
    return RowError(
        row=row, column=column, code=code, sku=sku, message=texts["zh"], message_en=texts["en"]
    )


class PriceChange(Response, kw_only=True):
    sku: str
    old_unit_price: int
    new_unit_price: int
    breaks_changed: bool


class ImportDiff(Response, kw_only=True):
    base_version: int | None
    added: int
    changed: int
    removed: int
    unchanged: int
    added_skus: list[str]
    changed_items: list[PriceChange]
    removed_skus: list[str]


class ImportReport(Response, kw_only=True):
    rows: int
    valid: bool
    dry_run: bool
    applied: bool
    error_count: int
    errors: list[RowError]
    diff: ImportDiff | None


class ParsedItem:
    __slots__ = ("break_kind", "breaks", "row", "sku", "unit_price")

    def __init__(
        self, row: int, sku: str, unit_price: int, break_kind: str, breaks: list[dict[str, Any]]
    ) -> None:
        self.row = row
        self.sku = sku
        self.unit_price = unit_price
        self.break_kind = break_kind
        self.breaks = breaks


def _file_error(code: str, zh: str, en: str, **extra: Any) -> Invalid:
    return Invalid(code, zh, en, **extra)


def _has_merged_cells(archive: zipfile.ZipFile) -> bool:
    for name in archive.namelist():
        if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
            continue
        tail = b""
        with archive.open(name) as stream:
            while chunk := stream.read(1 << 20):
                if b"<mergeCell " in tail + chunk:
                    return True
                tail = chunk[-16:]
    return False


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        if "xl/workbook.xml" not in archive.namelist():
            raise zipfile.BadZipFile("no workbook")
    except zipfile.BadZipFile as exc:
        raise _file_error(
            "import_format",
            "文件不是有效的 Excel (.xlsx) 文件",
            "The file is not a valid .xlsx workbook",
        ) from exc
    if _has_merged_cells(archive):
        raise _file_error(
            "import_merged_cells",
            "表格中有合并单元格，请取消合并后再导入",
            "The sheet has merged cells; unmerge them and import again",
        )
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on corrupt files
        raise _file_error(
            "import_format", "无法读取 Excel 文件", "The workbook cannot be read"
        ) from exc
    try:
        sheet: Any = workbook.worksheets[0]
        declared = sheet.max_row
        if isinstance(declared, int) and declared > MAX_ROWS + 1:
            raise _too_many_rows()
        for values in sheet.iter_rows(values_only=True):
            yield list(values)
    finally:
        workbook.close()


def _csv_rows(data: bytes) -> Iterator[list[Any]]:
    if b"\x00" in data[:4096]:
        raise _file_error(
            "import_format",
            "文件不是 CSV 或 Excel (.xlsx) 文件",
            "The file is neither CSV nor .xlsx",
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _file_error(
            "import_format",
            "无法识别文件编码（请用 UTF-8 或 GBK）",
            "Unknown text encoding (use UTF-8 or GBK)",
        )
    if max(text.count("\n"), text.count("\r")) > MAX_ROWS:
        # Maybe too many rows: count them before any is validated, so a huge file is refused
        # in a fraction of a second instead of after validating MAX_ROWS rows.
        filled = (row for row in csv.reader(io.StringIO(text)) if any(row))
        if sum(1 for _ in itertools.islice(filled, MAX_ROWS + 2)) > MAX_ROWS + 1:  # + header
            raise _too_many_rows()
    yield from csv.reader(io.StringIO(text))


def _too_many_rows() -> Invalid:
    return _file_error(
        "import_too_many_rows",
        f"超过 {MAX_ROWS} 行，请拆分后导入",
        f"More than {MAX_ROWS} rows; split the file",
        max_rows=MAX_ROWS,
    )


def _rows(data: bytes, filename: str) -> Iterator[list[Any]]:
    if not data:
        raise _file_error("import_empty", "文件为空", "The file is empty")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _file_error(
            "import_format",
            "不支持旧版 .xls，请另存为 .xlsx",
            "Legacy .xls is not supported; save as .xlsx",
        )
    if data.startswith(b"PK\x03\x04") or filename.lower().endswith(".xlsx"):
        return _xlsx_rows(data)
    return _csv_rows(data)


def _header(cells: list[Any]) -> dict[str, int]:
    names = [str(c).strip().lower().replace(" ", "") if c is not None else "" for c in cells]
    found: dict[str, int] = {}
    for column, aliases in COLUMNS.items():
        for index, name in enumerate(names):
            if name in aliases:
                found[column] = index
                break
    missing = [c for c in ("sku", "unit_price") if c not in found]
    if missing:
        raise _file_error(
            "import_columns",
            "缺少必需的列：商品编码 (sku) 与 单价 (unit_price)",
            "Missing required columns: sku and unit_price",
            errors=[
                {
                    "key": c,
                    "message": f"找不到列 {c}（表头：{'、'.join(names)}）",
                    "message_en": f"Column {c} not found (header: {', '.join(names)})",
                }
                for c in missing
            ],
        )
    return found


def parse_yuan(raw: Any) -> int | None:
    """Yuan (at most 2 decimals, >= 0) to fen, or None if it is not a valid price."""
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", "").lstrip("¥￥"))
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        return None
    if value * 100 > MAX_UNIT_PRICE:  # the price_list_items column is 32-bit
        return None
    return int(value * 100)


def _parse_breaks(raw: str) -> list[dict[str, Any]] | None:
    out: list[dict[str, Any]] = []
    for part in re.split(r"[;；]", raw):
        if not part.strip():
            continue
        match = _BREAK.match(part)
        if match is None:
            return None
        price = parse_yuan(match.group(4))
        if price is None:
            return None
        upper = match.group(2)
        out.append(
            {
                "min_qty": int(match.group(1)),
                "unit_price": price,
                "max_qty": int(upper) if upper else None,
            }
        )
    return out


def _cell(cells: list[Any], index: int | None) -> Any:
    if index is None or index >= len(cells):
        return None
    value = cells[index]
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def parse_file(
    data: bytes, filename: str, known_skus: set[str], progress: Progress | None = None
) -> tuple[list[ParsedItem], list[RowError], int]:
    """Every row validated: (valid items, row errors, data row count). Raises on file errors."""
    rows = _rows(data, filename)
    header: dict[str, int] | None = None
    items: list[ParsedItem] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    count = 0
    for number, cells in enumerate(rows, start=1):
        if header is None:
            if not any(c not in (None, "") for c in cells):
                continue
            header = _header(cells)
            continue
        if not any(c not in (None, "") for c in cells):
            continue
        count += 1
        if count > MAX_ROWS:
            raise _too_many_rows()
        if progress is not None and count % 5000 == 0:
            progress(count)
        row_errors = _validate_row(number, cells, header, known_skus, seen)
        if row_errors:
            errors.extend(row_errors)
            continue
        sku = str(_cell(cells, header["sku"]))
        seen[sku] = number
        kind = str(_cell(cells, header.get("break_kind")) or "range").lower()
        breaks = _parse_breaks(str(_cell(cells, header.get("breaks")) or "")) or []
        items.append(
            ParsedItem(
                number, sku, parse_yuan(_cell(cells, header["unit_price"])) or 0, kind, breaks
            )
        )
    if header is None:
        raise _file_error("import_columns", "文件没有表头", "The file has no header row")
    if progress is not None:
        progress(count)
    return items, errors, count


def _validate_row(
    number: int, cells: list[Any], header: dict[str, int], known: set[str], seen: dict[str, int]
) -> list[RowError]:
    errors: list[RowError] = []
    for column, index in header.items():
        value = _cell(cells, index)
        if isinstance(value, str) and value.startswith("="):
            errors.append(_row_error(number, column, "formula_not_allowed"))
    if errors:
        return errors
    raw_sku = _cell(cells, header["sku"])
    sku = str(raw_sku) if raw_sku is not None else ""
    if not sku:
        errors.append(_row_error(number, "sku", "sku_missing"))
    elif sku not in known:
        errors.append(_row_error(number, "sku", "sku_unknown", sku))
    elif sku in seen:
        errors.append(_row_error(number, "sku", "sku_duplicate", sku, first=seen[sku]))
    price = parse_yuan(_cell(cells, header["unit_price"]))
    if price is None:
        errors.append(_row_error(number, "unit_price", "price_invalid", sku or None))
    kind = str(_cell(cells, header.get("break_kind")) or "range").lower()
    if kind not in (BreakKind.RANGE, BreakKind.SLAB):
        errors.append(_row_error(number, "break_kind", "break_kind_invalid", sku or None))
    raw_breaks = _cell(cells, header.get("breaks"))
    if raw_breaks is not None:
        breaks = _parse_breaks(str(raw_breaks))
        if breaks is None:
            errors.append(_row_error(number, "breaks", "breaks_malformed", sku or None))
        elif price is not None:
            table = [VolumeBreak(**b) for b in breaks]
            for issue in validate_breaks(price, table):
                errors.append(
                    _row_error(
                        number,
                        "breaks",
                        issue.code,
                        sku or None,
                        key="import.break_issue",
                        issue=issue.message,
                        issue_en=issue.message_en,
                    )
                )
    return errors


async def _base_items(
    session: AsyncSession, draft: PriceListVersion
) -> tuple[int | None, dict[str, tuple[int, str, Any]]]:
    stmt = select(PriceListVersion.id, PriceListVersion.version).where(
        PriceListVersion.code == draft.code, PriceListVersion.status == PriceListStatus.PUBLISHED
    )
    base = (await session.execute(stmt)).first()
    if base is None:
        return None, {}
    rows = (
        await session.execute(
            select(
                PriceListEntry.sku_code,
                PriceListEntry.unit_price,
                PriceListEntry.break_kind,
                PriceListEntry.breaks,
            ).where(PriceListEntry.price_list_id == base.id)
        )
    ).all()
    return base.version, {r.sku_code: (r.unit_price, r.break_kind, r.breaks or []) for r in rows}


def diff_items(
    base_version: int | None, base: dict[str, tuple[int, str, Any]], items: list[ParsedItem]
) -> ImportDiff:
    added: list[str] = []
    changed: list[PriceChange] = []
    unchanged = 0
    incoming: set[str] = set()
    for item in items:
        incoming.add(item.sku)
        old = base.get(item.sku)
        if old is None:
            added.append(item.sku)
            continue
        breaks_changed = old[1] != item.break_kind or list(old[2]) != item.breaks
        if old[0] != item.unit_price or breaks_changed:
            changed.append(
                PriceChange(
                    sku=item.sku,
                    old_unit_price=old[0],
                    new_unit_price=item.unit_price,
                    breaks_changed=breaks_changed,
                )
            )
        else:
            unchanged += 1
    removed = sorted(set(base) - incoming)
    return ImportDiff(
        base_version=base_version,
        added=len(added),
        changed=len(changed),
        removed=len(removed),
        unchanged=unchanged,
        added_skus=added[:MAX_LISTED_CHANGES],
        changed_items=changed[:MAX_LISTED_CHANGES],
        removed_skus=removed[:MAX_LISTED_CHANGES],
    )


async def _checked(
    session: AsyncSession,
    price_list_id: uuid.UUID,
    data: bytes,
    filename: str,
    progress: Progress | None,
) -> tuple[PriceListVersion, list[ParsedItem], list[RowError], ImportReport]:
    """Read and validate the file and diff it against the published version (nothing
    written): the draft, the valid items, every row error and the dry run's report."""
    draft = await get_or_404(session, PriceListVersion, price_list_id, "price_list")
    if draft.status is not PriceListStatus.DRAFT:
        raise Conflict("price_list_not_draft", "只能导入到草稿", "Import into a draft only")
    known = await existing_sku_codes(session)
    items, errors, count = parse_file(data, filename, known, progress)
    base_version, base = await _base_items(session, draft)
    report = ImportReport(
        rows=count,
        valid=not errors,
        dry_run=True,
        applied=False,
        error_count=len(errors),
        errors=errors[:MAX_REPORTED_ERRORS],
        diff=diff_items(base_version, base, items) if not errors else None,
    )
    return draft, items, errors, report


async def _apply(
    session: AsyncSession,
    actor: Principal | None,
    draft: PriceListVersion,
    items: list[ParsedItem],
    report: ImportReport,
) -> ImportReport:
    """Replace the draft's items with the checked ones and audit it."""
    if report.rows == 0:
        raise Invalid("import_empty", "文件没有数据行", "The file has no data rows")
    rows = [
        {
            "price_list_id": draft.id,
            "sku_code": i.sku,
            "unit_price": i.unit_price,
            "break_kind": i.break_kind,
            "breaks": i.breaks,
        }
        for i in items
    ]
    await write_items(session, draft.id, rows)
    diff = report.diff
    record(
        session,
        actor,
        "price_list.imported",
        "price_list",
        draft.id,
        {
            "rows": report.rows,
            "added": diff.added if diff else 0,
            "changed": diff.changed if diff else 0,
            "removed": diff.removed if diff else 0,
        },
    )
    return msgspec.structs.replace(report, dry_run=False, applied=True)


async def import_into_draft(
    session: AsyncSession,
    actor: Principal | None,
    price_list_id: uuid.UUID,
    data: bytes,
    filename: str,
    *,
    dry_run: bool,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate and diff a file against the list's published version; apply to the draft
    unless ``dry_run`` (and only when every row is valid, else 422 with the report)."""
    draft, items, errors, report = await _checked(session, price_list_id, data, filename, progress)
    if errors and not dry_run:
        raise Invalid(
            "import_rows_invalid",
            f"有 {len(errors)} 行数据有误，未导入",
            f"{len(errors)} row error(s); nothing was imported",
            errors=[
                {
                    "row": e.row,
                    "column": e.column,
                    "code": e.code,
                    "sku": e.sku,
                    "message": e.message,
                    "message_en": e.message_en,
                }
                for e in errors[:MAX_REPORTED_ERRORS]
            ],
            error_count=len(errors),
        )
    if dry_run:
        return report
    return await _apply(session, actor, draft, items, report)


async def import_where_valid(
    session: AsyncSession,
    actor: Principal | None,
    price_list_id: uuid.UUID,
    data: bytes,
    filename: str,
) -> ImportReport:
    """Check the file and, when every row is valid and there is at least one, put it in the
    draft, reading it once (the console's upload): the report either way."""
    draft, items, _, report = await _checked(session, price_list_id, data, filename, None)
    if not report.valid or not report.rows:
        return report
    return await _apply(session, actor, draft, items, report)
