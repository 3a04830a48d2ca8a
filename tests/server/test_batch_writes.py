"""``server.db.batch``: rows and counter moves of one step written together, on both databases.

What the ORM's flush would have done must hold: defaults and foreign keys filled in, the
objects persistent and clean afterwards, counters moved by their net delta; and a failure
inside the block writes nothing and puts the counters back.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from server.accounts.ledger import lock_accounts, post_entry, rebuild_balances
from server.accounts.models import AccountKind, EntryKind, JournalEntry, LedgerAccount
from server.db.batch import add_new, add_to, batched_writes
from server.db.engine import Database
from server.db.scoping import scope_to_dealer
from server.db.session import transaction
from server.orders.models import Order, OrderEvent, OrderLine, OrderStatus
from tests.factories import make_dealer, make_sku


def _order(dealer_id: uuid.UUID, sku_id: uuid.UUID, now: datetime) -> Order:
    return Order(
        id=uuid.uuid4(),
        dealer_id=dealer_id,
        status=OrderStatus.SUBMITTED,
        content_hash="h" * 64,
        currency="CNY",
        list_amount=300,
        amount=300,
        created_at=now,
        updated_at=now,
        lines=[
            OrderLine(line=n, sku_id=sku_id, sku_code="S", qty=1, unit_price=100, amount=100)
            for n in (1, 2, 3)
        ],
        events=[OrderEvent(seq=1, to_status="submitted")],
        shipments=[],
    )


async def test_new_rows_and_moves_are_written_and_join_the_session_clean(
    db: Database, backend: str
) -> None:
    dealer = await make_dealer(db)
    sku = await make_sku(db)
    now = datetime.now(UTC)
    async with transaction(db) as s:
        scope_to_dealer(s, dealer.id)  # a dealer's own session, as on the order path
        accounts = await lock_accounts(s, dealer.id)
        async with batched_writes(s):
            order = _order(dealer.id, sku.id, now)
            add_new(s, order)
            post_entry(
                s, accounts, EntryKind.HOLD, {AccountKind.PREPAID: -70, AccountKind.HELD: 70}
            )
            post_entry(
                s, accounts, EntryKind.HOLD, {AccountKind.PREPAID: -30, AccountKind.HELD: 30}
            )
            # Seen at once, before anything is written.
            assert accounts[AccountKind.HELD].balance == 100
            assert await s.scalar(select(func.count()).select_from(Order)) == 0
        assert not s.new and not s.dirty  # nothing is left for a flush to write again
        assert order in s and all(line in s for line in order.lines)
        # Defaults filled in and foreign keys taken from the parent, as the flush would.
        assert order.captured == 0 and order.review_reasons == []
        assert {line.order_id for line in order.lines} == {order.id}
        assert order.events[0].order_id == order.id and order.events[0].id is not None
    async with db.session() as s:
        stored = await s.get(Order, order.id)
        assert stored is not None and stored.amount == 300
        lines = (await s.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).all()
        assert sorted(line.line for line in lines) == [1, 2, 3]
        balances = {
            a.kind: a.balance
            for a in (
                await s.scalars(select(LedgerAccount).where(LedgerAccount.dealer_id == dealer.id))
            ).all()
        }
        assert balances[AccountKind.HELD] == 100 and balances[AccountKind.PREPAID] == -100
        # The cached balances equal their postings: both entries and all four postings landed.
        rebuilt = await rebuild_balances(s, dealer.id)
        ids = {a.kind: a.id for a in (await lock_accounts(s, dealer.id)).values()}
        assert rebuilt[ids[AccountKind.HELD]] == 100
        entries = await s.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.dealer_id == dealer.id)
        )
        assert entries == 2


async def test_a_failure_inside_the_block_writes_nothing_and_puts_counters_back(
    db: Database, backend: str
) -> None:
    dealer = await make_dealer(db)
    sku = await make_sku(db)
    async with transaction(db) as s:
        accounts = await lock_accounts(s, dealer.id)
        before = accounts[AccountKind.HELD].balance
        with pytest.raises(LookupError):
            async with batched_writes(s):
                add_new(s, _order(dealer.id, sku.id, datetime.now(UTC)))
                add_to(s, accounts[AccountKind.HELD], "balance", 50)
                raise LookupError("the step gave up")
        assert accounts[AccountKind.HELD].balance == before
        assert not s.new
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Order)) == 0
        held = (await lock_accounts(s, dealer.id))[AccountKind.HELD]
        assert held.balance == before


async def test_a_duplicate_key_in_the_batch_fails_the_statement_and_leaves_nothing(
    db: Database, backend: str
) -> None:
    dealer = await make_dealer(db)
    sku = await make_sku(db)
    taken = _order(dealer.id, sku.id, datetime.now(UTC))
    async with transaction(db) as s:
        add_new(s, taken)  # outside a batch: a plain session.add
    async with db.session() as s:
        accounts = await lock_accounts(s, dealer.id)
        again = _order(dealer.id, sku.id, datetime.now(UTC))
        again.id = taken.id
        with pytest.raises(IntegrityError):
            async with batched_writes(s):
                add_new(s, again)
                add_to(s, accounts[AccountKind.HELD], "balance", 5)
        assert accounts[AccountKind.HELD].balance == 0
        await s.rollback()
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(OrderLine)) == 3


async def test_only_new_objects_and_one_batch_at_a_time(db: Database, backend: str) -> None:
    dealer = await make_dealer(db)
    async with transaction(db) as s:
        accounts = await lock_accounts(s, dealer.id)
        async with batched_writes(s):
            with pytest.raises(ValueError, match="not a new object"):
                add_new(s, accounts[AccountKind.HELD])
            with pytest.raises(RuntimeError, match="already open"):
                async with batched_writes(s):
                    pass
