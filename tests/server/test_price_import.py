"""Price-list import: row-level report, dry-run diff, all-or-nothing apply, malformed files."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient
from openpyxl import Workbook

from server.cli import main
from server.db.engine import Database
from server.errors import Invalid
from server.identity.models import Role
from server.pricelists import imports
from server.settings import Settings
from tests.factories import bearer, make_price_list, make_sku, make_user

Client = AsyncTestClient[Litestar]


async def _setup(client: Client, db: Database, settings: Settings) -> tuple[dict[str, str], str]:
    for code in ("A", "B", "C"):
        await make_sku(db, code, f"商品{code}")
    await make_price_list(db, "PL-DEF", {"A": 1000, "B": 2000})
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    draft = await client.post("/hq/price-lists/by-code/PL-DEF/versions", headers=hq)
    assert draft.status_code == 201, draft.text
    return hq, draft.json()["id"]


def _xlsx(rows: list[list[object]], merge: str | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def test_row_errors_are_reported_and_nothing_is_written(
    client: Client, db: Database, settings: Settings
) -> None:
    hq, draft = await _setup(client, db, settings)
    csv = (
        b"sku,unit_price,breaks\n"
        b"A,9.50,\n"
        b"GHOST,1.00,\n"
        b"B,abc,\n"
        b"A,9.00,\n"
        b"C,5.00,10-49:4.50; 40+:4.00\n"
        b"C2,-1,\n"
    )
    dry = await client.post(
        f"/hq/price-lists/{draft}/import",
        params={"dryRun": "true", "filename": "p.csv"},
        content=csv,
        headers=hq,
    )
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert (report["rows"], report["valid"], report["diff"]) == (6, False, None)
    assert [(e["row"], e["code"]) for e in report["errors"]] == [
        (3, "sku_unknown"),
        (4, "price_invalid"),
        (5, "sku_duplicate"),
        (6, "break_overlap"),
        (7, "sku_unknown"),
        (7, "price_invalid"),
    ]
    overlap = report["errors"][3]
    assert (overlap["message"], overlap["messageEn"]) == (
        "第 6 行：第 2 档起始数量 40 与上一档（至 49）重叠",
        "Row 6: Break 2 starts at 40, inside the break before it (up to 49)",
    )
    applied = await client.post(
        f"/hq/price-lists/{draft}/import", params={"dryRun": "false"}, content=csv, headers=hq
    )
    assert (applied.status_code, applied.json()["code"]) == (422, "import_rows_invalid")
    items = await client.get(f"/hq/price-lists/{draft}/items", headers=hq)
    assert {i["sku"]: i["unitPrice"] for i in items.json()["items"]} == {"A": 1000, "B": 2000}


async def test_dry_run_diff_then_apply_then_publish(
    client: Client, db: Database, settings: Settings
) -> None:
    hq, draft = await _setup(client, db, settings)
    book = _xlsx(
        [["商品编码", "单价(元)", "阶梯价"], ["A", 10, None], ["C", "5.5", "10-49:5.00; 50+:4.80"]]
    )
    dry = await client.post(
        f"/hq/price-lists/{draft}/import", params={"filename": "p.xlsx"}, content=book, headers=hq
    )
    assert dry.status_code == 200, dry.text
    diff = dry.json()["diff"]
    assert (
        diff["baseVersion"],
        diff["added"],
        diff["changed"],
        diff["removed"],
        diff["unchanged"],
    ) == (1, 1, 0, 1, 1)
    assert (diff["addedSkus"], diff["removedSkus"]) == (["C"], ["B"])
    book2 = _xlsx([["sku", "unit_price"], ["A", 9.9], ["B", 20]])
    dry2 = await client.post(f"/hq/price-lists/{draft}/import", content=book2, headers=hq)
    assert dry2.json()["diff"]["changedItems"] == [
        {"sku": "A", "oldUnitPrice": 1000, "newUnitPrice": 990, "breaksChanged": False}
    ]
    applied = await client.post(
        f"/hq/price-lists/{draft}/import", params={"dryRun": "false"}, content=book, headers=hq
    )
    assert (applied.status_code, applied.json()["applied"]) == (200, True)
    items = await client.get(f"/hq/price-lists/{draft}/items", headers=hq)
    assert [(i["sku"], i["unitPrice"], len(i["breaks"])) for i in items.json()["items"]] == [
        ("A", 1000, 0),
        ("C", 550, 2),
    ]
    assert (await client.post(f"/hq/price-lists/{draft}/publish", headers=hq)).status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"PK\x03\x04not really a zip", "import_format"),
        (b"\x00\x01\x02binary", "import_format"),
        (b"\xd0\xcf\x11\xe0old xls", "import_format"),
        (b"", "import_empty"),
        ("名称,价格\nA,1\n".encode(), "import_columns"),
    ],
)
async def test_malformed_files_are_a_clear_problem(
    client: Client, db: Database, settings: Settings, body: bytes, code: str
) -> None:
    hq, draft = await _setup(client, db, settings)
    response = await client.post(f"/hq/price-lists/{draft}/import", content=body, headers=hq)
    assert (response.status_code, response.json()["code"]) == (422, code)


async def test_missing_columns_are_named_in_the_requests_language(
    client: Client, db: Database, settings: Settings
) -> None:
    hq, draft = await _setup(client, db, settings)
    body = "名称,价格\nA,1\n".encode()
    url = f"/hq/price-lists/{draft}/import"
    zh = (await client.post(url, content=body, headers=hq)).json()
    en = (await client.post(url, content=body, headers={**hq, "Accept-Language": "en"})).json()
    # 价格 is a name of the price column; nothing names the SKU column.
    assert [e["message"] for e in zh["errors"]] == ["找不到列 sku（表头：名称、价格）"]
    assert [e["message"] for e in en["errors"]] == ["Column sku not found (header: 名称, 价格)"]


async def test_merged_cells_and_formulas(client: Client, db: Database, settings: Settings) -> None:
    hq, draft = await _setup(client, db, settings)
    merged = _xlsx([["sku", "unit_price"], ["A", 1], ["B", 2]], merge="A2:A3")
    response = await client.post(f"/hq/price-lists/{draft}/import", content=merged, headers=hq)
    assert (response.status_code, response.json()["code"]) == (422, "import_merged_cells")
    formula = _xlsx([["sku", "unit_price"], ["A", "=1+1"], ["B", 2]])
    report = (
        await client.post(f"/hq/price-lists/{draft}/import", content=formula, headers=hq)
    ).json()
    assert [(e["row"], e["code"]) for e in report["errors"]] == [(2, "formula_not_allowed")]


def test_a_million_rows_are_refused_without_reading_them_all() -> None:
    data = b"sku,unit_price\n" + b"A,1\n" * 1_000_000
    with pytest.raises(Invalid) as caught:
        imports.parse_file(data, "big.csv", {"A"})
    assert caught.value.code == "import_too_many_rows"


def test_the_row_count_ignores_blank_lines_and_counts_quoted_line_breaks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    # Three rows and many blank lines: more lines than the limit, but not more rows.
    fits = b"sku,unit_price\n\n" + b"A,1\n\n\n" + b"B,2\r\n\r\n" + b'"C",3\n\n\n'
    items, errors, count = imports.parse_file(fits, "fits.csv", {"A", "B", "C"})
    assert (len(items), errors, count) == (3, [], 3)
    # A quoted line break is one row; a fourth row is one too many.
    four = fits + b'"D\nD",4\n'
    with pytest.raises(Invalid) as caught:
        imports.parse_file(four, "four.csv", {"A", "B", "C", "D\nD"})
    assert caught.value.code == "import_too_many_rows"


def test_a_declared_huge_sheet_is_refused_up_front() -> None:
    # In read-only mode openpyxl trusts the sheet's dimension tag: claim a million rows.
    source = zipfile.ZipFile(io.BytesIO(_xlsx([["sku", "unit_price"], ["A", 1]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b'<dimension ref="A1:B2" />', b'<dimension ref="A1:B1000001" />'
                )
            target.writestr(item, data)
    with pytest.raises(Invalid) as caught:
        imports.parse_file(out.getvalue(), "big.xlsx", {"A"})
    assert caught.value.code == "import_too_many_rows"


def test_cli_imports_and_publishes_with_a_report(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.db.engine import Database
    from server.settings import DatabaseSettings

    async def seed() -> None:
        db = Database(DatabaseSettings(url=database_url))
        await make_sku(db, "A", "商品A")
        await make_sku(db, "B", "商品B")
        await make_price_list(db, "PL-DEF", {"A": 1000})
        await db.dispose()

    asyncio.run(seed())
    good = tmp_path / "prices.csv"
    good.write_text("sku,unit_price\nA,11\nB,2.5\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,unit_price\nA,x\n", encoding="utf-8")
    monkeypatch.setenv("CHANNELHUB_DATABASE_URL", database_url)
    monkeypatch.setenv("CHANNELHUB_AUTH_JWT_SECRET", "cli-test-" + "s" * 40)
    runner = CliRunner()
    refused = runner.invoke(main, ["price-list", "import", str(bad), "--list", "PL-DEF", "--apply"])
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["code"] == "import_rows_invalid"
    dry = runner.invoke(main, ["price-list", "import", str(good), "--list", "PL-DEF"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["diff"]["changedItems"][0]["newUnitPrice"] == 1100
    done = runner.invoke(
        main, ["price-list", "import", str(good), "--list", "PL-DEF", "--apply", "--publish"]
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["published"] == {"code": "PL-DEF", "version": 2}


async def test_prices_and_quantities_beyond_their_columns_are_row_errors(
    client: Client, db: Database, settings: Settings
) -> None:
    """A price above the 32-bit column, or a break quantity of thousands of digits: row errors."""
    hq, draft = await _setup(client, db, settings)
    digits = "9" * 5000
    csv = (
        f"sku,unit_price,breaks\nA,21474836.48,\nB,1.00,{digits}+:0.90\nC,21474836.47,\n"
    ).encode()
    dry = await client.post(
        f"/hq/price-lists/{draft}/import",
        params={"dryRun": "true", "filename": "p.csv"},
        content=csv,
        headers=hq,
    )
    assert dry.status_code == 200, dry.text
    errors = [(e["row"], e["code"]) for e in dry.json()["errors"]]
    assert errors == [(2, "price_invalid"), (3, "breaks_malformed")]
    assert imports.parse_yuan("21474836.47") == 2**31 - 1
    assert imports.parse_yuan("21474836.48") is None
