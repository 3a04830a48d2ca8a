"""HQ and dealer account routes: top-ups, adjustments, balances, statements and downloads."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient
from openpyxl import load_workbook
from sqlalchemy import select

from server.accounts import hold_funds, ledger_faults
from server.audit.models import AuditEvent
from server.db.engine import Database
from server.db.session import transaction
from server.identity.models import Role
from server.settings import Settings
from tests.factories import bearer, make_dealer, make_user

Client = AsyncTestClient[Litestar]


async def test_top_up_is_idempotent_audited_and_checked(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer = await make_dealer(db)
    admin = await make_user(db, Role.HQ_ADMIN)
    h = bearer(settings, admin)
    url = f"/hq/dealers/{dealer.id}/accounts"
    body = {
        "account": "prepaid",
        "amount": 500_00,
        "reason": "银行汇款",
        "idempotencyKey": "bank-0001",
    }
    first = await client.post(f"{url}/top-ups", json=body, headers=h)
    assert first.status_code == 201, first.text
    assert (first.json()["replayed"], first.json()["balances"]["prepaid"]) == (False, 500_00)
    again = await client.post(f"{url}/top-ups", json=body, headers=h)
    assert (again.json()["replayed"], again.json()["id"]) == (True, first.json()["id"])
    assert again.json()["balances"]["prepaid"] == 500_00
    reused = await client.post(f"{url}/top-ups", json={**body, "amount": 1}, headers=h)
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")
    for amount in (0, -1, 10**15):
        bad = await client.post(
            f"{url}/top-ups",
            json={**body, "amount": amount, "idempotencyKey": "bank-0002"},
            headers=h,
        )
        assert bad.status_code == 422, amount
    too_low = await client.post(
        f"{url}/adjustments",
        json={
            "account": "prepaid",
            "amount": -500_01,
            "reason": "冲正",
            "idempotencyKey": "adj-00001",
        },
        headers=h,
    )
    assert (too_low.status_code, too_low.json()["code"]) == (409, "funds_insufficient")
    ok = await client.post(
        f"{url}/adjustments",
        json={
            "account": "prepaid",
            "amount": -100,
            "reason": "冲正",
            "idempotencyKey": "adj-00002",
        },
        headers=h,
    )
    assert ok.json()["balances"]["prepaid"] == 500_00 - 100
    missing = await client.get(
        "/hq/dealers/00000000-0000-0000-0000-000000000000/accounts/", headers=h
    )
    assert missing.status_code == 404
    async with db.session() as s:
        actions = (
            (
                await s.execute(
                    select(AuditEvent.action).where(AuditEvent.entity_id == str(dealer.id))
                )
            )
            .scalars()
            .all()
        )
    assert sorted(actions) == ["account.adjustment", "account.top_up"]


async def test_statement_totals_equal_the_ledger(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer = await make_dealer(db)
    other = await make_dealer(db)
    h = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    url = f"/hq/dealers/{dealer.id}/accounts"
    for n, amount in enumerate((300_00, 200_00)):
        await client.post(
            f"{url}/top-ups",
            json={
                "account": "prepaid",
                "amount": amount,
                "reason": "汇款",
                "idempotencyKey": f"bank-{n:05d}",
            },
            headers=h,
        )
    await client.post(
        f"{url}/top-ups",
        json={
            "account": "rebate",
            "amount": 50_00,
            "reason": "季度返利",
            "idempotencyKey": "rebate-0001",
        },
        headers=h,
    )
    async with transaction(db) as s:
        await hold_funds(s, dealer.id, "SO-9", 120_00, ["rebate", "prepaid"], rebate_cap_bp=2000)
    today = date.today()
    period = {
        "start": (today - timedelta(days=1)).isoformat(),
        "end": (today + timedelta(days=1)).isoformat(),
    }
    me = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=dealer))
    statement = (await client.get("/mp/accounts/statement", params=period, headers=me)).json()
    balances = (await client.get("/mp/accounts/", headers=me)).json()
    sections = {a["account"]: a for a in statement["accounts"]}
    for name in ("prepaid", "rebate", "held"):
        section = sections[name]
        assert section["opening"] + section["credits"] - section["debits"] == section["closing"]
        assert (
            sum(line["amount"] for line in section["lines"])
            == section["closing"] - section["opening"]
        )
        assert section["closing"] == balances[name]
    assert (balances["prepaid"], balances["rebate"], balances["held"]) == (
        500_00 - 96_00,
        50_00 - 24_00,
        120_00,
    )
    later = {
        "start": (today + timedelta(days=2)).isoformat(),
        "end": (today + timedelta(days=3)).isoformat(),
    }
    empty = (await client.get(f"{url}/statement", params=later, headers=h)).json()
    assert {a["account"]: (a["opening"], a["lines"]) for a in empty["accounts"]}["prepaid"] == (
        404_00,
        [],
    )
    xlsx = await client.get(
        "/mp/accounts/statement/export", params={**period, "format": "xlsx"}, headers=me
    )
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    cells = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert any(row[2] == "期末 closing" and row[6] == "404.00" for row in cells)
    exported = await client.get(
        f"{url}/statement/export", params={**period, "format": "csv"}, headers=h
    )
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"  # said once
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [
        "预存款 prepaid",
        period["end"],
        "期末 closing",
        "",
        "收入 500.00 / 支出 96.00",
        "404.00",
        "404.00",
    ] in rows
    # Another dealer's hold is not found, from the mini-program or through the wrong HQ path.
    theirs = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=other))
    assert (await client.get("/mp/accounts/holds/SO-9", headers=theirs)).status_code == 404
    assert (await client.get("/mp/accounts/holds/SO-9", headers=me)).json()["rebate"] == 24_00
    assert (
        await client.get(f"/hq/dealers/{other.id}/accounts/holds/SO-9", headers=h)
    ).status_code == 404
    assert (
        await client.get(
            "/mp/accounts/statement",
            params={"start": "2026-01-02", "end": "2026-01-01"},
            headers=me,
        )
    ).json()["code"] == "period_invalid"
    dealer_on_hq = await client.get(f"{url}/", headers=theirs)
    assert dealer_on_hq.status_code == 403
    async with db.session() as s:
        assert await ledger_faults(s) == []
