"""flush_in_one: the rows the ORM's flush would write, in one statement on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import AccountKind, LedgerAccount
from server.audit.models import AuditEvent
from server.catalog.models import Sku
from server.db.bulk import flush_in_one
from server.db.engine import Database
from server.db.session import transaction
from server.dealers.models import Dealer
from server.orders.models import Order, OrderEvent, OrderLine, OrderShipment, OrderStatus
from tests.factories import make_dealer, make_sku

AT = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@asynccontextmanager
async def statements(db: Database, session: AsyncSession) -> AsyncIterator[list[str]]:
    """The statements the session sends meanwhile (transaction control left out)."""
    seen: list[str] = []

    def keep(query: str) -> None:
        if query.split(maxsplit=1)[0].upper() not in _CONTROL and not _asyncpg_own(query):
            seen.append(query)

    def engine_event(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        keep(statement)

    def driver_log(record: Any) -> None:
        keep(record.query)

    if db.is_sqlite:
        event.listen(db.engine.sync_engine, "before_cursor_execute", engine_event)
    else:  # statements that skip SQLAlchemy (server.db.fast) show only in asyncpg's log
        raw = await (await session.connection()).get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        driver.add_query_logger(driver_log)
    try:
        yield seen
    finally:
        if db.is_sqlite:
            event.remove(db.engine.sync_engine, "before_cursor_execute", engine_event)
        else:
            await asyncio.sleep(0.05)  # asyncpg calls its query loggers soon, not at once
            driver.remove_query_logger(driver_log)


def _asyncpg_own(query: str) -> bool:
    """asyncpg's introspection of the types of a statement it prepares for the first time."""
    return "'jit'" in query or "pg_catalog.pg_type" in query


_CONTROL = {"BEGIN", "BEGIN;", "COMMIT", "COMMIT;", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def new_order(dealer: Dealer, sku: Sku, **fields: Any) -> Order:
    """An order the way the service builds one: children without their parent's key."""
    order = Order(
        id=uuid.uuid4(),
        dealer_id=dealer.id,
        status=OrderStatus.SUBMITTED,
        content_hash="h" * 64,
        currency="CNY",
        list_amount=1200,
        amount=1000,
        review_reasons=["watch_tier", "diversion"],
        created_at=AT,
        updated_at=AT,
        lines=[
            OrderLine(line=n, sku_id=sku.id, sku_code=sku.code, qty=n, unit_price=100, amount=n)
            for n in (1, 2)
        ],
        events=[OrderEvent(seq=1, from_status=None, to_status="submitted", at=AT)],
        shipments=[],
        **fields,
    )
    return order


@pytest.fixture
async def parties(db: Database) -> tuple[Dealer, Sku]:
    return await make_dealer(db), await make_sku(db)


async def test_new_rows_written_and_persistent(
    db: Database, parties: tuple[Dealer, Sku], backend: str
) -> None:
    dealer, sku = parties
    async with transaction(db) as s:
        order = new_order(dealer, sku)
        shipment = OrderShipment(
            order_id=order.id, carrier="顺丰", tracking_no="SF1", lines=[{"line": 1, "qty": 1}]
        )
        audit = AuditEvent(action="order.placed", entity="order", entity_id=str(order.id))
        s.add_all([order, audit])
        async with statements(db, s) as seen:
            await flush_in_one(s)
            s.add(shipment)  # a second call, after the first rows are persistent
            await flush_in_one(s)
        if backend == "postgres":
            assert len(seen) == 2
        assert not s.new and not s.dirty
        for obj in (order, *order.lines, *order.events, audit, shipment):
            assert inspect(obj).persistent
        assert await s.get(Order, order.id) is order  # the identity map holds them
        # Defaults were applied to the objects as the flush applies them.
        assert (order.discount, order.note, order.amendments) == (0, "", [])
        assert [ln.order_id for ln in order.lines] == [order.id, order.id]
        assert audit.id is not None and audit.data == {}
        assert shipment.shipped_at is not None
        order.note = "改了"  # the committed state is right: this is an ordinary UPDATE
    async with db.session() as s:
        stored = (await s.execute(select(Order).where(Order.id == order.id))).scalar_one()
        assert stored.note == "改了"
        assert stored.review_reasons == ["watch_tier", "diversion"]
        assert stored.amendments == []
        assert [(ln.line, ln.qty, ln.reserved) for ln in stored.lines] == [(1, 1, 0), (2, 2, 0)]
        assert [e.to_status for e in stored.events] == ["submitted"]
        assert [sh.lines for sh in stored.shipments] == [[{"line": 1, "qty": 1}]]
        assert await s.get(AuditEvent, audit.id) is not None


async def test_changed_rows_updated_with_onupdate(
    db: Database, parties: tuple[Dealer, Sku]
) -> None:
    dealer, _sku = parties
    old = AT - timedelta(days=3)
    async with transaction(db) as s:
        s.add_all(
            [
                LedgerAccount(dealer_id=dealer.id, kind=k, balance=10, updated_at=old)
                for k in (AccountKind.PREPAID, AccountKind.CREDIT)
            ]
        )
    async with transaction(db) as s:
        accounts = list((await s.execute(select(LedgerAccount))).scalars())
        for n, account in enumerate(accounts):
            account.balance += 5 + n
        untouched = accounts[0].credit_limit
        await flush_in_one(s)
        assert not s.dirty and not s.is_modified(accounts[0])
        assert all(a.updated_at > old for a in accounts)
    async with db.session() as s:
        stored = {a.id: a for a in (await s.execute(select(LedgerAccount))).scalars()}
        assert sorted(a.balance for a in stored.values()) == [15, 16]
        assert all(a.updated_at > old for a in stored.values())
        assert stored[accounts[0].id].credit_limit == untouched


async def test_savepoint_rollback_forgets_written_rows(
    db: Database, parties: tuple[Dealer, Sku]
) -> None:
    dealer, sku = parties
    async with transaction(db) as s:
        order = new_order(dealer, sku)
        savepoint = await s.begin_nested()
        s.add(order)
        await flush_in_one(s)
        await savepoint.rollback()
        assert order not in s
        assert await s.get(Order, order.id) is None
    async with db.session() as s:
        assert await s.get(Order, order.id) is None


async def test_duplicate_key_fails_the_whole_write(
    db: Database, parties: tuple[Dealer, Sku]
) -> None:
    dealer, sku = parties
    first = new_order(dealer, sku)
    async with transaction(db) as s:
        s.add(first)
    twin = new_order(dealer, sku)
    twin.id = first.id
    audit = AuditEvent(action="order.placed", entity="order", entity_id=str(first.id))
    async with db.session() as s:
        s.add_all([twin, audit])
        with pytest.raises(IntegrityError):
            await flush_in_one(s)
        await s.rollback()
    async with db.session() as s:
        assert await s.get(AuditEvent, audit.id) is None  # nothing of the write landed
        stored = (await s.execute(select(Order).where(Order.id == first.id))).scalar_one()
        assert len(stored.lines) == 2


async def test_deletions_take_the_ordinary_flush(db: Database, parties: tuple[Dealer, Sku]) -> None:
    dealer, sku = parties
    async with transaction(db) as s:
        order = new_order(dealer, sku)
        s.add(order)
    async with transaction(db) as s:
        stored = (await s.execute(select(Order).where(Order.id == order.id))).scalar_one()
        stored.lines.pop()
        stored.note = "一行"
        await flush_in_one(s)
        assert not s.new and not s.dirty and not s.deleted
    async with db.session() as s:
        stored = (await s.execute(select(Order).where(Order.id == order.id))).scalar_one()
        assert (stored.note, [ln.line for ln in stored.lines]) == ("一行", [1])


async def test_child_added_to_a_stored_parent_takes_its_key(
    db: Database, parties: tuple[Dealer, Sku], backend: str
) -> None:
    dealer, sku = parties
    async with transaction(db) as s:
        s.add(new_order(dealer, sku))
    async with transaction(db) as s:
        stored = (await s.execute(select(Order))).scalar_one()
        stored.status = OrderStatus.APPROVED
        stored.events.append(OrderEvent(seq=2, from_status="submitted", to_status="approved"))
        async with statements(db, s) as seen:
            await flush_in_one(s)
        if backend == "postgres":
            assert len(seen) == 1
        assert stored.events[-1].order_id == stored.id
    async with db.session() as s:
        stored = (await s.execute(select(Order))).scalar_one()
        assert stored.status is OrderStatus.APPROVED
        assert [e.to_status for e in stored.events] == ["submitted", "approved"]


async def test_values_arrive_as_written(db: Database, parties: tuple[Dealer, Sku]) -> None:
    """What JSON could bend arrives intact: quotes and escapes, big integers, instants."""
    dealer, sku = parties
    note = 'a "quote", a \\ backslash,\nnew line, \u2028, 表情 😀, {"not": "json"}'
    reasons = ['he said "no"', "tab\there", "\\u0041"]
    big = 2**53 + 1  # a JSON number no float holds
    east = timezone(timedelta(hours=8))
    at = datetime(2026, 11, 27, 16, 0, 0, 123456, tzinfo=east)
    order = new_order(dealer, sku, note=note)
    order.amount, order.list_amount, order.review_reasons = big, -big, reasons
    order.created_at = at
    audit = AuditEvent(
        action="order.placed",
        entity="order",
        entity_id=str(order.id),
        data={"nested": {"list": [1, "二", None, True]}, "quote": '"'},
    )
    async with transaction(db) as s:
        s.add_all([order, audit])
        await flush_in_one(s)
    async with db.session() as s:
        stored = (await s.execute(select(Order).where(Order.id == order.id))).scalar_one()
        assert (stored.note, stored.review_reasons) == (note, reasons)
        assert (stored.amount, stored.list_amount) == (big, -big)
        assert stored.created_at == at  # the same instant, microseconds kept
        assert stored.status is OrderStatus.SUBMITTED
        kept = await s.get(AuditEvent, audit.id)
        assert kept is not None
        assert kept.data == {"nested": {"list": [1, "二", None, True]}, "quote": '"'}


async def test_constructed_objects_behave_as_the_orms_own(
    db: Database, parties: tuple[Dealer, Sku]
) -> None:
    """The models' constructor skips column events; relationships and flushes are unchanged."""
    dealer, sku = parties
    with pytest.raises(TypeError, match="'colour' is an invalid keyword argument for OrderLine"):
        OrderLine(line=1, colour="red")
    order = new_order(dealer, sku)  # its lines and events given to the constructor
    assert inspect(order).transient and order.note is None  # not set: the flush's default
    assert inspect(order).attrs.lines.history.added == order.lines  # a tracked collection
    async with transaction(db) as s:
        s.add(order)
        order.lines.append(
            OrderLine(line=3, sku_id=sku.id, sku_code=sku.code, qty=3, unit_price=1, amount=3)
        )
        order.note = "加急"  # a column set after construction, before the flush
        await flush_in_one(s)
        assert inspect(order.lines[2]).persistent  # cascaded from the collection
    async with db.session() as s:
        stored = (await s.execute(select(Order).where(Order.id == order.id))).scalar_one()
        assert stored.note == "加急"
        assert [ln.line for ln in stored.lines] == [1, 2, 3]
