"""Bad input on the console's pages, without a browser (on both databases): a file that is no
spreadsheet and a sheet of a million rows are refused in words with nothing written, and two
operators deciding one order at once leave one decision and a refusal."""

from __future__ import annotations

import asyncio
import io
import re
import time
import uuid
import zipfile

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from console.i18n import LANG_COOKIE
from server.db.engine import Database
from server.identity.models import Role
from server.orders.models import Order, OrderEvent
from server.pricelists.imports import MAX_ROWS
from server.pricelists.models import PriceListEntry, PriceListStatus, PriceListVersion
from server.settings import Settings
from tests.factories import make_price_list, make_sku, make_user
from tests.orders.conftest import make_shop

Client = AsyncTestClient[Litestar]
PASSWORD = "channelhub-demo"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def _docx() -> bytes:
    """A zip that is a Word file, not a workbook."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def _token(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found[1]


async def sign_in(client: Client, username: str) -> str:
    """Sign ``username`` in through the form; the CSRF token for the next posts."""
    form = await client.get("/console/login")
    signed_in = await client.post(
        "/console/login",
        data={"username": username, "password": PASSWORD, "_csrf_token": _token(form.text)},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text[:500]
    return _token((await client.get("/console/orders")).text)


async def _browser(client: Client, username: str) -> tuple[str, str]:
    """Sign in on a fresh cookie jar: (the browser's Cookie header, its CSRF token)."""
    client.cookies.clear()
    token = await sign_in(client, username)
    return "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar), token


def _alert(html: str) -> str:
    found = re.search(r'role="alert" data-code="([^"]+)">([^<]*)<', html)
    assert found, html[:800]
    return f"{found[1]}: {found[2]}"


async def _draft(client: Client, db: Database, token: str) -> uuid.UUID:
    """A draft of list PL-DEF whose published version holds SKUs A and B."""
    for code in ("A", "B"):
        await make_sku(db, code, f"商品{code}")
    await make_price_list(db, "PL-DEF", {"A": 1000, "B": 2000})
    started = await client.post(
        "/console/price-lists/by-code/PL-DEF/draft",
        data={"_csrf_token": token},
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text[:500]
    return uuid.UUID(started.headers["location"].rsplit("/", 1)[1])


async def _draft_items(db: Database, draft: uuid.UUID) -> list[tuple[str, int]]:
    async with db.session() as s:
        version = await s.get(PriceListVersion, draft)
        assert version is not None and version.status is PriceListStatus.DRAFT
        rows = await s.execute(
            select(PriceListEntry.sku_code, PriceListEntry.unit_price)
            .where(PriceListEntry.price_list_id == draft)
            .order_by(PriceListEntry.sku_code)
        )
        return [(r.sku_code, r.unit_price) for r in rows]


async def _upload(client: Client, token: str, draft: uuid.UUID, name: str, body: bytes) -> str:
    response = await client.post(
        f"/console/price-lists/{draft}/import",
        data={"_csrf_token": token},
        files={"file": (name, body, "application/octet-stream")},
    )
    assert response.status_code == 422, (response.status_code, response.text[:500])
    return _alert(response.text)


async def test_a_file_that_is_no_spreadsheet_is_refused_in_words(
    client: Client, db: Database
) -> None:
    await make_user(db, Role.HQ_OPERATOR, username="ops", password=PASSWORD)
    token = await sign_in(client, "ops")
    draft = await _draft(client, db, token)
    before = await _draft_items(db, draft)
    assert before == [("A", 1000), ("B", 2000)]
    assert await _upload(client, token, draft, "receipt.png", PNG) == (
        "import_format: 文件不是 CSV 或 Excel (.xlsx) 文件"
    )
    assert await _upload(client, token, draft, "prices.xlsx", _docx()) == (
        "import_format: 文件不是有效的 Excel (.xlsx) 文件"
    )
    client.cookies.set(LANG_COOKIE, "en")
    assert await _upload(client, token, draft, "receipt.png", PNG) == (
        "import_format: The file is neither CSV nor .xlsx"
    )
    assert await _upload(client, token, draft, "prices.xlsx", _docx()) == (
        "import_format: The file is not a valid .xlsx workbook"
    )
    assert await _draft_items(db, draft) == before


async def test_a_sheet_of_a_million_rows_is_refused_quickly_with_nothing_written(
    client: Client, db: Database
) -> None:
    await make_user(db, Role.HQ_OPERATOR, username="ops", password=PASSWORD)
    token = await sign_in(client, "ops")
    draft = await _draft(client, db, token)
    before = await _draft_items(db, draft)
    # A header and 1,000,000 valid rows (14 MB): every row would pass but the count.
    sheet = b"sku,unit_price\n" + b"A,1.00\n" * 1_000_000
    started = time.perf_counter()
    message = await _upload(client, token, draft, "million.csv", sheet)
    elapsed = time.perf_counter() - started
    assert message == f"import_too_many_rows: 超过 {MAX_ROWS} 行，请拆分后导入"
    # Counted before any row is validated: a few seconds at most even on a slow machine
    # (validating the first 200,000 rows took 16 s).
    assert elapsed < 8, elapsed
    assert await _draft_items(db, draft) == before


async def test_two_operators_deciding_one_order_at_once_the_second_is_refused(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings)
    placed = await client.post(
        "/mp/orders",
        json={
            "id": str(uuid.uuid4()),
            "lines": [{"sku": "W-550", "qty": 10}],
            "addressId": str(shop.away),
        },
        headers=shop.headers,
    )
    order = placed.json()
    assert (order["status"], order["reviewReasons"]) == ("submitted", ["diversion"]), order
    await make_user(db, Role.HQ_OPERATOR, username="ops", password=PASSWORD)
    await make_user(db, Role.HQ_OPERATOR, username="ops2", password=PASSWORD)
    # Two browsers: each its own cookies, sent by hand so both posts race on the one app.
    browsers = [await _browser(client, "ops"), await _browser(client, "ops2")]
    client.cookies.clear()
    url = f"/console/orders/{order['id']}/decide"
    forms = [{"action": "approve"}, {"action": "reject", "comment": "窜货"}]
    answers = await asyncio.gather(
        *(
            client.post(
                url,
                data={**form, "_csrf_token": token},
                headers={"cookie": cookie},
                follow_redirects=False,
            )
            for form, (cookie, token) in zip(forms, browsers, strict=True)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [303, 409], [(a.status_code, a.headers.get("location")) for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert _alert(refused.text).startswith("order_already_decided: 该订单已不在审核中（现为“已")
    async with db.session() as s:
        stored = await s.get(Order, uuid.UUID(order["id"]))
        assert stored is not None and stored.status in ("approved", "rejected")
        decisions = await s.scalar(
            select(func.count())
            .select_from(OrderEvent)
            .where(
                OrderEvent.order_id == stored.id,
                OrderEvent.to_status.in_(("approved", "rejected")),
            )
        )
    assert decisions == 1  # decided once
