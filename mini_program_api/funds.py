"""A dealer's own fund balances, holds and statements."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Response as RawResponse
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import funds, holds, statements
from server.accounts.routes import balances_out, hold_out, statement_download
from server.accounts.schemas import BalancesOut, ExportFormat, HoldOut, StatementOut
from server.identity.guards import requires_dealer
from server.identity.principal import Principal
from server.schemas import path_text

Start = Annotated[date, QueryParameter(name="start")]
End = Annotated[date, QueryParameter(name="end")]
Format = Annotated[ExportFormat, QueryParameter(name="format")]


def _dealer(principal: Principal) -> uuid.UUID:
    assert principal.dealer_id is not None  # requires_dealer guarantees it
    return principal.dealer_id


class FundsController(Controller):
    path = "/mp/accounts"
    tags = ("mini-program: accounts",)
    guards = (requires_dealer,)

    @get("/", summary="My balances")
    async def balances(
        self, db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> BalancesOut:
        """Prepaid, rebate, credit and held funds of my dealer, in fen."""
        return balances_out(await funds.dealer_balances(db_session, _dealer(principal)))

    @get("/holds/{reference:str}", summary="Funds held for one of my orders")
    async def hold(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        reference: Annotated[str, path_text(64)],
    ) -> HoldOut:
        """What is held for an order of mine, by source."""
        return hold_out(await holds.get_hold(db_session, reference, _dealer(principal)))

    @get("/statement", summary="My statement", opt={"problems": (422,)})
    async def statement(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        state: State,
        start: Start,
        end: End,
    ) -> StatementOut:
        """My statement (对账单) for the days start..end."""
        return await statements.dealer_statement(
            db_session,
            _dealer(principal),
            start,
            end,
            state.settings.timezone,
            state.get("statement_invoicing"),
        )

    @get("/statement/export", summary="Download my statement")
    async def export(
        self,
        *,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        state: State,
        start: Start,
        end: End,
        export_format: Format,
    ) -> RawResponse[bytes]:
        """My statement as an XLSX workbook or a CSV file."""
        statement = await statements.dealer_statement(
            db_session,
            _dealer(principal),
            start,
            end,
            state.settings.timezone,
            state.get("statement_invoicing"),
        )
        return statement_download(statement, export_format)
