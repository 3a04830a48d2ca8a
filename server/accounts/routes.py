"""HQ administration of dealers' funds: balances, top-ups, adjustments, limits, statements."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Response as RawResponse
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import credit, funds, holds, statements
from server.accounts.models import JournalEntry
from server.accounts.schemas import (
    AdjustmentIn,
    BalancesOut,
    CreditLimitIn,
    CreditRequestOut,
    EntryOut,
    ExportFormat,
    HoldOut,
    StatementOut,
    TopUpIn,
    balances_out,
)
from server.db.base import utcnow
from server.identity.guards import requires_hq, requires_hq_admin
from server.identity.principal import Principal
from server.schemas import path_text

Start = Annotated[date, QueryParameter(name="start")]
End = Annotated[date, QueryParameter(name="end")]
Format = Annotated[ExportFormat, QueryParameter(name="format")]
_MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    # Litestar adds "; charset=utf-8" to every text/* type itself.
    "csv": "text/csv",
}


def hold_out(h: holds.Hold) -> HoldOut:
    return HoldOut(
        id=h.id,
        dealer_id=h.dealer_id,
        reference=h.reference,
        amount=h.amount,
        prepaid=h.prepaid,
        credit=h.credit,
        rebate=h.rebate,
        captured=h.captured,
        released=h.released,
        status=h.status,
    )


async def entry_out(session: AsyncSession, entry: JournalEntry, replayed: bool) -> EntryOut:
    balances = await funds.dealer_balances(session, entry.dealer_id)
    return EntryOut(
        id=entry.id,
        dealer_id=entry.dealer_id,
        kind=entry.kind,
        account=entry.account_kind,
        amount=entry.amount,
        reason=entry.reason,
        reference=entry.reference,
        created_at=entry.created_at,
        replayed=replayed,
        balances=balances_out(balances),
    )


def statement_download(statement: StatementOut, export: ExportFormat) -> RawResponse[bytes]:
    body = (
        statements.statement_xlsx(statement)
        if export == "xlsx"
        else statements.statement_csv(statement)
    )
    period = f"{statement.start:%Y%m%d}-{statement.end:%Y%m%d}"
    name = f"statement-{statement.dealer_code}-{period}.{export}"
    return RawResponse(
        body,
        media_type=_MEDIA[export],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class AccountController(Controller):
    path = "/hq/dealers/{dealer_id:uuid}/accounts"
    tags = ("hq: accounts",)
    guards = (requires_hq,)

    @get("/", summary="A dealer's balances")
    async def balances(
        self, db_session: NamedDependency[AsyncSession], dealer_id: FromPath[uuid.UUID]
    ) -> BalancesOut:
        """Prepaid, rebate, credit (limit, used, available), held and available funds in fen."""
        return balances_out(await funds.dealer_balances(db_session, dealer_id))

    @post(
        "/top-ups",
        summary="Top up a dealer's account",
        guards=[requires_hq_admin],
        opt={"problems": (409,)},
    )
    async def top_up(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        dealer_id: FromPath[uuid.UUID],
        data: JSONBody[TopUpIn],
    ) -> EntryOut:
        """Record a deposit, a credit repayment or a rebate grant; a repeated key is a no-op."""
        entry, replayed = await funds.top_up(db_session, principal, dealer_id, data)
        return await entry_out(db_session, entry, replayed)

    @post(
        "/adjustments",
        summary="Adjust a dealer's account",
        guards=[requires_hq_admin],
        opt={"problems": (409,)},
    )
    async def adjust(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        dealer_id: FromPath[uuid.UUID],
        data: JSONBody[AdjustmentIn],
    ) -> EntryOut:
        """Correct an account up or down with a reason (audited); a repeated key changes nothing."""
        entry, replayed = await funds.adjust(db_session, principal, dealer_id, data)
        return await entry_out(db_session, entry, replayed)

    @put(
        "/credit-limit",
        summary="Set a dealer's credit limit",
        guards=[requires_hq_admin],
        opt={"problems": (409,)},
    )
    async def credit_limit(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        dealer_id: FromPath[uuid.UUID],
        data: JSONBody[CreditLimitIn],
    ) -> BalancesOut:
        """Set how much the dealer may owe (audited); 409 when HQ's approval chain has a step
        for this change (request it instead)."""
        done = await credit.set_limit_directly(db_session, principal, dealer_id, data)
        assert done.balances is not None
        return done.balances

    @post(
        "/credit-limit-requests",
        summary="Request a credit limit change",
        status_code=200,
        opt={"problems": (409,)},
    )
    async def credit_limit_request(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        dealer_id: FromPath[uuid.UUID],
        data: JSONBody[CreditLimitIn],
    ) -> CreditRequestOut:
        """Set at once when no approval step applies, else wait in the chain (授信审批)."""
        return await credit.request_limit(db_session, principal, dealer_id, data, utcnow())

    @get("/holds/{reference:str}", summary="An order's funds hold")
    async def hold(
        self,
        db_session: NamedDependency[AsyncSession],
        dealer_id: FromPath[uuid.UUID],
        reference: Annotated[str, path_text(64)],
    ) -> HoldOut:
        """What is held for one order, by source, and whether it was captured or released."""
        return hold_out(await holds.get_hold(db_session, reference, dealer_id))

    @get("/statement", summary="A dealer's statement")
    async def statement(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        dealer_id: FromPath[uuid.UUID],
        start: Start,
        end: End,
    ) -> StatementOut:
        """Opening, postings and closing of each account for the days start..end (brand zone)."""
        return await statements.dealer_statement(
            db_session,
            dealer_id,
            start,
            end,
            state.settings.timezone,
            state.get("statement_invoicing"),
        )

    @get("/statement/export", summary="Download a dealer's statement")
    async def export(
        self,
        *,
        db_session: NamedDependency[AsyncSession],
        state: State,
        dealer_id: FromPath[uuid.UUID],
        start: Start,
        end: End,
        export_format: Format,
    ) -> RawResponse[bytes]:
        """The statement as an XLSX workbook or a CSV file."""
        statement = await statements.dealer_statement(
            db_session,
            dealer_id,
            start,
            end,
            state.settings.timezone,
            state.get("statement_invoicing"),
        )
        return statement_download(statement, export_format)
