"""Hot statements on PostgreSQL, sent by asyncpg on the session's connection (public APIs only).

On the dev box one ``session.execute`` of a prebuilt Core statement costs about 300 us of
Python (the ORM's execute path, the compiled-cache lookup, the execution context, the result
object) and the same statement through asyncpg about 40 us. The statements stay SQLAlchemy
Core (one spelling, type-checked), compiled by SQLAlchemy once per statement object; only
running them skips SQLAlchemy's execution layer. Everything used is public: the compiled
SQL and its positional bind names, each type's bind and result processors, and the driver
connection of the session's own connection (``AsyncConnection.get_raw_connection()``), so the
statements run inside the session's transaction and savepoints. Errors come back as the
``sqlalchemy.exc`` classes ``execute`` raises (``server.db.errors.from_driver``).

Dealer scoping cannot be skipped here: in a dealer's session a statement that names a
dealer-owned table goes through ``session.execute``, where ``server.db.scoping`` filters it.
On other databases every statement goes through the session.

:func:`write` runs a statement that only writes rows its caller built (``server.db.batch``):
it returns no rows, so there is nothing to scope.

Only statements without "expanding" ``IN`` parameters qualify (send an array and use
``= ANY(...)`` or ``unnest``); pass statements built once at import.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import ARRAY, Table, func
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.db.errors import from_driver
from server.db.scoping import dealer_scope, reads_dealer_rows

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Default:
    produce: Callable[[], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    # Per positional parameter: the caller's key (None: a constant of the statement), the
    # constant (a _Default: computed per execution unless the caller gives the value), and
    # the bind processor of its type (what ``execute`` applies).
    params: tuple[tuple[str | None, Any, Processor | None], ...]
    # Per result column: the result processor of its type (enums, UTC datetimes).
    results: tuple[Processor | None, ...]
    reads_dealer_rows: bool


_DRIVER_KEY = "fast_driver"
_COMPILED: weakref.WeakKeyDictionary[Any, _Compiled] = weakref.WeakKeyDictionary()


def python_default(default: Any) -> Callable[[], Any]:
    """A zero-argument producer of a column's Python-side default or onupdate, as
    ``execute`` computes it; ``ValueError`` for a SQL expression (only the database has it)."""
    if default is None:
        return lambda: None
    if getattr(default, "is_scalar", False):
        value = default.arg
        return lambda: value
    if getattr(default, "is_callable", False):
        fn = default.arg
        return lambda: fn(None)
    raise ValueError(f"{default!r}: only Python-side defaults can be computed here")


def _bind_processor(type_: Any, dialect: Dialect) -> Processor | None:
    if isinstance(type_, ARRAY):
        return _array_processor(type_, dialect)
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _array_processor(array: ARRAY[Any], dialect: Dialect) -> Processor | None:
    """The item type's processing for the one-dimensional lists sent here."""
    if array.dimensions not in (None, 1):
        raise ValueError("only one-dimensional arrays are sent here")
    item = array.item_type.dialect_impl(dialect).bind_processor(dialect)
    if item is None:
        return None
    return lambda values: None if values is None else [item(v) for v in values]


def _compile(statement: Any, dialect: Dialect) -> _Compiled:
    compiled = _COMPILED.get(statement)
    if compiled is not None:
        return compiled
    done = statement.compile(dialect=dialect)
    if done.post_compile_params or any(b.required for b in done.literal_execute_params):
        raise ValueError("expanding parameters: send an array instead")
    sql, names = done.string, done.positiontup or []
    if done.literal_execute_params:  # constants SQLAlchemy renders into the text
        required = {b.key: None for b in done.binds.values() if b.required}
        expanded = done.construct_expanded_state(required)
        sql, names = expanded.statement, expanded.positiontup or []
    # Columns whose Python-side default (INSERT) or onupdate (UPDATE) execute would fill in.
    defaults = {c.key: c.default for c in done.insert_prefetch}
    defaults.update({c.key: c.onupdate for c in done.update_prefetch})
    params: list[tuple[str | None, Any, Processor | None]] = []
    for name in names:
        bind = done.binds[name]
        process = _bind_processor(bind.type, dialect)
        if name in defaults:
            params.append((name, _Default(python_default(defaults[name])), process))
        elif bind.required:
            params.append((bind.key, None, process))
        else:
            params.append((None, bind.effective_value, process))
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        for column in statement.exported_columns
    )
    compiled = _COMPILED[statement] = _Compiled(
        sql=sql,
        params=tuple(params),
        results=results if any(results) else (),
        reads_dealer_rows=reads_dealer_rows(statement),
    )
    return compiled


def _arguments(compiled: _Compiled, given: Mapping[str, Any]) -> list[Any]:
    args = []
    for key, constant, process in compiled.params:
        if key is None:
            value = constant
        elif isinstance(constant, _Default):
            value = given[key] if key in given else constant.produce()
        else:
            value = given[key]
        args.append(process(value) if process is not None else value)
    return args


async def _driver(session: AsyncSession) -> tuple[AsyncConnection, asyncpg.Connection]:
    """The session's connection and its asyncpg connection, a pending SAVEPOINT sent.

    Asking the session for its connection emits a pending SAVEPOINT. The answer is remembered
    for the session's current (sub)transaction: asking again costs a greenlet switch per
    statement, and a new savepoint or transaction is another object.
    """
    sync_session = session.sync_session
    current = sync_session.get_nested_transaction() or sync_session.get_transaction()
    known = session.info.get(_DRIVER_KEY)
    if known is not None and known[0] is current and known[2].is_in_transaction():
        return known[1], known[2]
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert isinstance(driver, asyncpg.Connection)
    current = sync_session.get_nested_transaction() or sync_session.get_transaction()
    session.info[_DRIVER_KEY] = (current, connection, driver)
    return connection, driver


async def rows(
    session: AsyncSession, statement: Any, params: Mapping[str, Any] | None = None
) -> Sequence[Sequence[Any]]:
    """The statement's rows, by position (PostgreSQL: through the driver, see the module)."""
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        return (await session.execute(statement, params)).all()
    compiled = _compile(statement, dialect)
    if compiled.reads_dealer_rows and dealer_scope(session) is not None:
        return (await session.execute(statement, params)).all()  # scoped there
    return await _run(session, statement, compiled, params or {})


async def write(
    session: AsyncSession, statement: Any, params: Mapping[str, Any] | None = None
) -> None:
    """Run a statement that only writes rows the caller built (PostgreSQL: through the driver).

    Not for reads: it skips the dealer-rows check of :func:`rows`, since a write returns no
    rows to scope. Its ``UPDATE`` parts must name their rows by keys the caller already read
    through the session (``server.db.batch`` moves counters of loaded objects only).
    """
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        await session.execute(statement, params)
        return
    await _run(session, statement, _compile(statement, dialect), params or {})


async def _run(
    session: AsyncSession, statement: Any, compiled: _Compiled, params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """Send the statement through the driver, its result columns processed as ``execute`` does.

    SQLAlchemy's asyncpg adapter sends BEGIN with the first statement it runs: when the
    transaction has not begun, this statement is that first one, run by the session's Core
    connection (no ORM), which begins it.
    """
    connection, driver = await _driver(session)
    if not driver.is_in_transaction():
        return (await connection.execute(statement, dict(params))).all()
    args = _arguments(compiled, params)
    try:
        records = await driver.fetch(compiled.sql, *args)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError) as exc:
        # InternalClientError: the protocol was left mid-operation by a lost connection.
        raise from_driver(exc, compiled.sql, args) from exc
    if not compiled.results:
        return records
    processors = compiled.results
    return [
        tuple(v if p is None else p(v) for p, v in zip(processors, record, strict=True))
        for record in records
    ]


async def copy_rows(
    session: AsyncSession, table: Table, columns: Sequence[str], records: Sequence[Sequence[Any]]
) -> int:
    """Bulk-load ``records`` (values in ``columns`` order) into ``table`` in the session's
    transaction: PostgreSQL's ``COPY`` through the driver (each value through its column
    type's bind processor, as ``execute`` would), elsewhere one ``executemany`` INSERT.

    For loaders of generated data (``channelhub seed-scale``): no defaults are filled in and
    no dealer scoping applies, so every column the table needs must be given.
    """
    if not records:
        return 0
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        rows = [dict(zip(columns, record, strict=True)) for record in records]
        await session.execute(table.insert(), rows)
        return len(rows)
    processors = [_bind_processor(table.c[name].type, dialect) for name in columns]
    if any(p is not None for p in processors):
        records = [
            tuple(v if p is None or v is None else p(v) for p, v in zip(processors, r, strict=True))
            for r in records
        ]
    connection, driver = await _driver(session)
    if not driver.is_in_transaction():  # COPY is not a statement SQLAlchemy can begin with
        await connection.exec_driver_sql("SELECT 1")
    try:
        await driver.copy_records_to_table(table.name, records=records, columns=list(columns))
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise from_driver(exc, f"COPY {table.name}", []) from exc
    return len(records)


def lock_key(key: uuid.UUID) -> int:
    """The 32-bit key of a PostgreSQL advisory lock on ``key`` (with a namespace beside it).

    The whole key is folded in: ULIDs and UUIDv7 ids share their leading (timestamp) bytes
    for a minute, so a prefix would make every order of that minute wait on one lock. Keys
    share a lock 1 time in 2**32: then two writers only wait.
    """
    whole = key.int
    folded = (whole ^ (whole >> 32) ^ (whole >> 64) ^ (whole >> 96)) & 0xFFFFFFFF
    return folded - ((folded & 0x80000000) << 1)  # PostgreSQL's integer is signed


GENERIC_PLANS = func.set_config("plan_cache_mode", "force_generic_plan", True)
"""A column for a transaction's first statement: from then on the transaction plans each
prepared statement once (transaction-local). The hot statements take arrays, for which
PostgreSQL's default keeps planning them anew on every execution (measured on the order
path: 5.8 -> 4.1 ms of PostgreSQL CPU per order)."""
