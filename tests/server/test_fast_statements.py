"""server.db.fast: statements that skip SQLAlchemy's execution layer behave as ``execute`` does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Table, any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from server.db import fast
from server.db.engine import Database
from server.db.session import transaction
from server.dealers.models import Dealer, DealerStatus
from tests.factories import make_dealer

_DEALERS = cast(Table, Dealer.__table__)
_READ = select(Dealer.id, Dealer.status, Dealer.updated_at, Dealer.name).where(
    Dealer.id == bindparam("id")
)
_RENAME = (
    update(_DEALERS)
    .where(_DEALERS.c.id == bindparam("dealer"))
    .values(name=bindparam("name"))
    .returning(_DEALERS.c.name)
)
_INSERT = insert(_DEALERS).values(
    id=bindparam("id"), code=bindparam("code"), name="重复", tier_code="core"
)
_EXPANDING = select(Dealer.id).where(Dealer.id.in_(bindparam("ids", expanding=True)))
_ARRAY = select(Dealer.id).where(Dealer.id == any_(bindparam("ids", type_=ARRAY(Dealer.id.type))))


async def test_rows_match_what_execute_returns(db: Database) -> None:
    dealer = await make_dealer(db, status=DealerStatus.SUSPENDED)
    async with db.session() as s:
        [fast_row] = await fast.rows(s, _READ, {"id": dealer.id})
        [orm_row] = (await s.execute(_READ, {"id": dealer.id})).all()
    assert tuple(fast_row) == tuple(orm_row)
    assert fast_row[1] is DealerStatus.SUSPENDED  # enums come back as enums
    assert isinstance(fast_row[2], datetime) and fast_row[2].tzinfo is not None
    assert fast_row[2].utcoffset() == UTC.utcoffset(None)


async def test_a_savepoint_rollback_undoes_them(db: Database) -> None:
    dealer = await make_dealer(db)
    async with transaction(db) as s:
        await fast.rows(s, _RENAME, {"dealer": dealer.id, "name": "外层"})
        savepoint = await s.begin_nested()
        [(name,)] = await fast.rows(s, _RENAME, {"dealer": dealer.id, "name": "内层"})
        assert name == "内层"
        await savepoint.rollback()
        [row] = await fast.rows(s, _READ, {"id": dealer.id})
        assert row[3] == "外层"
    async with db.session() as s:
        stored = await s.get(Dealer, dealer.id)
        assert stored is not None and stored.name == "外层"
        assert stored.updated_at > dealer.updated_at  # the column's onupdate, as execute does


async def test_a_rollback_undoes_them_even_as_first_statement(db: Database) -> None:
    dealer = await make_dealer(db)
    async with db.session() as s:
        await fast.rows(s, _RENAME, {"dealer": dealer.id, "name": "未提交"})
        await s.rollback()
    async with db.session() as s:
        assert (await s.get(Dealer, dealer.id)).name != "未提交"  # type: ignore[union-attr]


async def test_errors_are_sqlalchemys(db: Database) -> None:
    dealer = await make_dealer(db)
    async with db.session() as s:
        with pytest.raises(IntegrityError):
            await fast.rows(s, _INSERT, {"id": uuid.uuid4(), "code": dealer.code})
        await s.rollback()
        assert await s.get(Dealer, dealer.id) is not None  # the session goes on


async def test_expanding_parameters_are_refused_on_postgresql(db: Database, backend: str) -> None:
    dealer = await make_dealer(db)
    params: dict[str, Any] = {"ids": [dealer.id]}
    async with db.session() as s:
        assert [
            r[0]
            for r in await fast.rows(s, _ARRAY if backend == "postgres" else _EXPANDING, params)
        ] == [dealer.id]
        if backend == "postgres":
            with pytest.raises(ValueError, match="expanding"):
                await fast.rows(s, _EXPANDING, params)


def test_lock_keys_fold_the_whole_key() -> None:
    # Two UUIDv7 ids of one millisecond: the same leading 8 bytes, different random tails.
    first = uuid.UUID("01936b2a-7c00-7000-8000-00000000a001")
    second = uuid.UUID("01936b2a-7c00-7000-8000-00000000b002")
    assert fast.lock_key(first) != fast.lock_key(second)
    assert fast.lock_key(first) == fast.lock_key(uuid.UUID(str(first)))
    extremes = [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.UUID(int=2**31)]
    assert all(-(2**31) <= fast.lock_key(k) < 2**31 for k in (first, second, *extremes))
