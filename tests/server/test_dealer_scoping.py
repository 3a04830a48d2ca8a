"""Dealer scoping on every path: the ORM, Core statements, and the raw driver path.

On PostgreSQL ``server.db.fast.rows`` sends statements to asyncpg itself, past the session's
``do_orm_execute`` hook; these tests fail if a statement run that way in a dealer's session
reads another dealer's row.
"""

from __future__ import annotations

import uuid
from typing import cast

import pytest
from sqlalchemy import Table, bindparam, select

from server.accounts.ledger import lock_accounts
from server.accounts.models import AccountKind, LedgerAccount
from server.db import fast
from server.db.engine import Database
from server.db.scoping import UnscopedRead, reads_dealer_rows, scope_to_dealer
from server.db.session import transaction
from tests.factories import make_dealer

# No dealer filter written by hand: scoping alone must keep the other dealer's rows out.
_ENTITY_ROWS = select(LedgerAccount.id, LedgerAccount.dealer_id).where(
    LedgerAccount.kind == bindparam("kind")
)
_ACCOUNTS = cast(Table, LedgerAccount.__table__)
_TABLE_ROWS = select(_ACCOUNTS.c.id, _ACCOUNTS.c.dealer_id).where(
    _ACCOUNTS.c.kind == bindparam("kind")
)
_IN_A_SUBQUERY = select(_ENTITY_ROWS.subquery().c.dealer_id)


async def _two_dealers_with_accounts(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    mine, theirs = await make_dealer(db), await make_dealer(db)
    async with transaction(db) as s:
        for dealer in (mine, theirs):
            await lock_accounts(s, dealer.id)
    return mine.id, theirs.id


async def test_the_raw_path_reads_only_the_scoped_dealers_rows(db: Database, backend: str) -> None:
    mine, theirs = await _two_dealers_with_accounts(db)
    async with db.session() as s:
        unscoped = await fast.rows(s, _ENTITY_ROWS, {"kind": AccountKind.PREPAID})
        assert {row[1] for row in unscoped} == {mine, theirs}  # both are there to be seen
    async with db.session() as s:
        scope_to_dealer(s, mine)
        scoped = await fast.rows(s, _ENTITY_ROWS, {"kind": AccountKind.PREPAID})
        assert [row[1] for row in scoped] == [mine]
        orm = (await s.scalars(select(LedgerAccount))).all()
        assert {a.dealer_id for a in orm} == {mine} and len(orm) == len(AccountKind)
        assert {a.dealer_id for a in (await lock_accounts(s, theirs)).values()} <= {mine}


async def test_core_reads_of_dealer_tables_are_refused_in_a_dealers_session(
    db: Database, backend: str
) -> None:
    mine, _ = await _two_dealers_with_accounts(db)
    assert reads_dealer_rows(_TABLE_ROWS) and reads_dealer_rows(_IN_A_SUBQUERY)
    async with db.session() as s:
        scope_to_dealer(s, mine)
        with pytest.raises(UnscopedRead):
            await fast.rows(s, _TABLE_ROWS, {"kind": AccountKind.PREPAID})
        with pytest.raises(UnscopedRead):
            await s.execute(_TABLE_ROWS, {"kind": AccountKind.PREPAID})
        # An entity inside a subquery: filtered, or refused; never another dealer's row.
        try:
            found = await fast.rows(s, _IN_A_SUBQUERY, {"kind": AccountKind.PREPAID})
        except UnscopedRead:
            found = []
        assert {row[0] for row in found} <= {mine}
