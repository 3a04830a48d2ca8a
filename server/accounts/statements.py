"""Dealer statements (对账单): per fund account, opening balance, every posting, closing balance.

The period is given in whole days of the brand's time zone, ``start`` to ``end`` inclusive.
Opening is the sum of the account's postings before the period, so opening + credits -
debits = closing always holds, and the closing of a period reaching today equals the balance.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import AccountKind, JournalEntry, LedgerAccount, Posting
from server.accounts.schemas import (
    StatementAccountOut,
    StatementInvoicing,
    StatementLineOut,
    StatementOut,
)
from server.dealers import get_dealer
from server.errors import Invalid
from server.pricing.money import format_fen

STATEMENT_ACCOUNTS = (AccountKind.PREPAID, AccountKind.CREDIT, AccountKind.REBATE, AccountKind.HELD)
MAX_DAYS = 366
_ACCOUNT_ZH = {
    AccountKind.PREPAID: "预存款",
    AccountKind.CREDIT: "信用",
    AccountKind.REBATE: "返利",
    AccountKind.HELD: "冻结",
}
_ENTRY_ZH = {
    "top_up": "充值",
    "adjustment": "调整",
    "hold": "冻结",
    "capture": "扣款",
    "release": "释放",
    "refund": "退款",
    "clawback": "返利扣回",
}

# Invoices sit above accounts: the app hands their reader in (``state.statement_invoicing``).
InvoicingReader = Callable[[AsyncSession, uuid.UUID, datetime], Awaitable[StatementInvoicing]]


async def dealer_statement(
    session: AsyncSession,
    dealer_id: uuid.UUID,
    start: date,
    end: date,
    timezone: str = "Asia/Shanghai",
    invoicing: InvoicingReader | None = None,
) -> StatementOut:
    """The statement of one dealer for the days ``start``..``end`` (brand time zone), with
    its invoicing at the period's end when ``invoicing`` reads it."""
    # Dates far outside the trading era (year 1, year 9999) overflow when shifted to UTC.
    in_era = date(2000, 1, 1) <= start and end <= date(2099, 12, 31)
    if not in_era or end < start or (end - start).days >= MAX_DAYS:
        raise Invalid(
            "period_invalid",
            "对账期间不合法（最长一年）",
            "The period must run forward, at most a year",
        )
    dealer = await get_dealer(session, dealer_id)
    zone = ZoneInfo(timezone)
    since = datetime.combine(start, time(), zone)
    until = datetime.combine(end + timedelta(days=1), time(), zone)
    accounts = {
        a.kind: a
        for a in (
            await session.execute(select(LedgerAccount).where(LedgerAccount.dealer_id == dealer_id))
        ).scalars()
    }
    sections: list[StatementAccountOut] = []
    for kind in STATEMENT_ACCOUNTS:
        account = accounts.get(kind)
        if account is None:
            sections.append(
                StatementAccountOut(
                    account=kind, opening=0, credits=0, debits=0, closing=0, lines=[]
                )
            )
            continue
        sections.append(await _section(session, kind, account.id, since, until))
    return StatementOut(
        dealer_id=dealer.id,
        dealer_code=dealer.code,
        dealer_name=dealer.name,
        currency=accounts[AccountKind.PREPAID].currency
        if AccountKind.PREPAID in accounts
        else "CNY",
        start=start,
        end=end,
        timezone=timezone,
        accounts=sections,
        invoicing=await invoicing(session, dealer_id, until) if invoicing else None,
    )


async def _section(
    session: AsyncSession,
    kind: AccountKind,
    account_id: uuid.UUID,
    since: datetime,
    until: datetime,
) -> StatementAccountOut:
    """One account's part: opening balance, the period's postings with running balance, totals."""
    opening = int(
        await session.scalar(
            select(func.coalesce(func.sum(Posting.amount), 0)).where(
                Posting.account_id == account_id, Posting.created_at < since
            )
        )
        or 0
    )
    rows = await session.execute(
        select(Posting, JournalEntry)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(
            Posting.account_id == account_id,
            Posting.created_at >= since,
            Posting.created_at < until,
        )
        .order_by(Posting.created_at, Posting.id)
    )
    balance, credits, debits = opening, 0, 0
    lines: list[StatementLineOut] = []
    for posting, entry in rows:
        balance += posting.amount
        if posting.amount > 0:
            credits += posting.amount
        else:
            debits -= posting.amount
        lines.append(
            StatementLineOut(
                at=posting.created_at,
                entry_id=entry.id,
                kind=entry.kind,
                reference=entry.reference,
                reason=entry.reason,
                amount=posting.amount,
                balance=balance,
            )
        )
    return StatementAccountOut(
        account=kind,
        opening=opening,
        credits=credits,
        debits=debits,
        closing=balance,
        lines=lines,
    )


_HEADER = [
    "账户 account",
    "时间 time",
    "类型 kind",
    "单号 reference",
    "说明 reason",
    "金额 amount",
    "余额 balance",
]


def _rows(statement: StatementOut) -> list[list[str]]:
    zone = ZoneInfo(statement.timezone)
    rows: list[list[str]] = []
    for section in statement.accounts:
        name = f"{_ACCOUNT_ZH[section.account]} {section.account}"
        start = statement.start.isoformat()
        rows.append([name, start, "期初 opening", "", "", "", format_fen(section.opening)])
        rows += [
            [
                name,
                line.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                f"{_ENTRY_ZH.get(line.kind, line.kind)} {line.kind}",
                line.reference,
                line.reason,
                format_fen(line.amount),
                format_fen(line.balance),
            ]
            for line in section.lines
        ]
        rows.append(
            [
                name,
                statement.end.isoformat(),
                "期末 closing",
                "",
                f"收入 {format_fen(section.credits)} / 支出 {format_fen(section.debits)}",
                format_fen(section.closing - section.opening),
                format_fen(section.closing),
            ]
        )
    if (inv := statement.invoicing) is not None:
        end = statement.end.isoformat()
        for label, amount in (
            ("已发货 shipped", inv.shipped),
            ("开票中 requested", inv.requested),
            ("已开票 invoiced", inv.invoiced),
            ("未开票 uninvoiced", inv.uninvoiced),
        ):
            rows.append(["发票 invoices", end, label, "", "", format_fen(amount), ""])
    return rows


def _title(statement: StatementOut) -> list[str]:
    return [
        f"对账单 statement: {statement.dealer_name} ({statement.dealer_code})",
        f"{statement.start.isoformat()} ~ {statement.end.isoformat()}",
        statement.timezone,
        f"币种 {statement.currency}（元 yuan）",
    ]


def statement_csv(statement: StatementOut) -> bytes:
    """The statement as CSV (UTF-8 with BOM so that Excel reads the Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_title(statement))
    writer.writerow(_HEADER)
    writer.writerows(_rows(statement))
    return buffer.getvalue().encode("utf-8-sig")


def statement_xlsx(statement: StatementOut) -> bytes:
    """The statement as an Excel workbook (amounts in yuan, as text to keep them exact)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "对账单"
    sheet.append(_title(statement))
    sheet.append(_HEADER)
    for row in _rows(statement):
        sheet.append(row)
    for column, width in zip("ABCDEFG", (14, 20, 16, 28, 36, 14, 14), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
