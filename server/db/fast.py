"""Hot statements on PostgreSQL, executed by asyncpg without SQLAlchemy's execution layer.

On the dev box one ``session.execute`` of a prebuilt Core statement costs about 300 us of
Python (the ORM's execute path, the compiled-cache lookup, the execution context, the result
object) and the same statement through asyncpg about 40 us. Order placement runs a dozen
statements, so this is most of its CPU. The statements stay SQLAlchemy Core (one spelling,
type-checked, compiled by SQLAlchemy once per statement for PostgreSQL); only running them
skips SQLAlchemy. They run on the session's own connection, inside its transaction and
savepoints, and errors come back as the same ``sqlalchemy.exc`` exceptions ``execute``
raises. Results are rows by position, with SQLAlchemy's result processing (enums, UTC
datetimes). On other databases the statement goes through the session.

Only statements without "expanding" ``IN`` parameters qualify (send an array and use
``= ANY(...)`` or ``unnest``); the compiled form is remembered per statement object, so pass
statements built once at import.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import ARRAY, func, inspect
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value

_DRIVER = "fast_driver"


@dataclass(frozen=True, slots=True)
class _Compiled:
    statement: Any  # kept so that the id() it is remembered under stays this statement's
    sql: str
    # Per positional parameter: the caller's key (None: a constant of the statement), the
    # constant (a _Default: computed per execution unless the caller gives the value), and
    # SQLAlchemy's bind processor for its type.
    params: tuple[tuple[str | None, Any, Callable[[Any], Any] | None], ...]
    # Per result column: SQLAlchemy's result processor for its type (enums, UTC datetimes).
    results: tuple[Callable[[Any], Any] | None, ...]


_COMPILED: dict[int, _Compiled] = {}


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


@dataclass(frozen=True, slots=True)
class _Default:
    produce: Callable[[], Any]


def _compile(statement: Any, dialect: Dialect) -> _Compiled:
    compiled = _COMPILED.get(id(statement))
    if compiled is not None and compiled.statement is statement:
        return compiled
    done = statement.compile(dialect=dialect)
    if done.post_compile_params or any(b.required for b in done.literal_execute_params):
        raise ValueError("expanding parameters: send an array instead")
    sql, names = done.string, done.positiontup or []
    if done.literal_execute_params:  # constants SQLAlchemy renders into the text
        required = {b.key: None for b in done.binds.values() if b.required}
        expanded = done.construct_expanded_state(required)
        sql, names = expanded.statement, expanded.positiontup or []
    processors = done._bind_processors  # what execute applies, per bind name
    # Columns whose Python-side default (INSERT) or onupdate (UPDATE) execute would fill in.
    defaults = {c.key: c.default for c in done.insert_prefetch}
    defaults.update({c.key: c.onupdate for c in done.update_prefetch})
    params = []
    for name in names:
        bind = done.binds[name]
        process = _array_processor(bind.type, dialect) if isinstance(bind.type, ARRAY) else None
        process = process or processors.get(name)
        if name in defaults:
            params.append((name, _Default(python_default(defaults[name])), process))
            continue
        user_key = bind.key if bind.required else None
        constant = None if bind.required else bind.effective_value
        params.append((user_key, constant, process))
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        for column in done._result_columns
    )
    compiled = _COMPILED[id(statement)] = _Compiled(
        statement=statement,
        sql=sql,
        params=tuple(params),
        results=results if any(results) else (),
    )
    return compiled


def _no_change(value: Any) -> Any:
    return value


def _array_processor(array: ARRAY[Any], dialect: Dialect) -> Callable[[Any], Any]:
    """SQLAlchemy's ARRAY processing for the one-dimensional lists sent here, minus its
    per-call copying and nesting checks (most of the order write's bind processing)."""
    item = array.item_type.dialect_impl(dialect).bind_processor(dialect)
    if array.dimensions not in (None, 1):
        raise ValueError("only one-dimensional arrays are sent here")
    if item is None:
        return _no_change
    return lambda values: None if values is None else [item(v) for v in values]


async def _driver(session: AsyncSession) -> Any:
    """The asyncpg connection of the session's transaction, its BEGIN or SAVEPOINT sent.

    SQLAlchemy begins a transaction, and a ``begin_nested()`` emits its SAVEPOINT, only when
    a connection is asked of it: asking once per (transaction, savepoint) keeps statements
    sent here inside the savepoint they were sent in.
    """
    sync = session.sync_session
    current = (sync.get_transaction(), sync.get_nested_transaction())
    cached = session.info.get(_DRIVER)
    if cached is None or current[0] is None or cached[0] != current:
        connection = await session.connection()
        adapted = (await connection.get_raw_connection()).dbapi_connection
        cached = session.info[_DRIVER] = (
            (sync.get_transaction(), sync.get_nested_transaction()),
            adapted,
        )
    adapted: Any = cached[1]
    # SQLAlchemy's adapter sends BEGIN with its first statement: this may be the first.
    if adapted._transaction is None:
        await adapted._start_transaction()
    return adapted._connection


async def rows(
    session: AsyncSession, statement: Any, params: Mapping[str, Any] | None = None
) -> Sequence[Sequence[Any]]:
    """The statement's rows, by position."""
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        return [tuple(r) for r in await session.execute(statement, params)]
    compiled = _compile(statement, dialect)
    given = params or {}
    args = []
    for key, constant, process in compiled.params:
        if key is None:
            value = constant
        elif isinstance(constant, _Default):
            value = given[key] if key in given else constant.produce()
        else:
            value = given[key]
        args.append(process(value) if process is not None else value)
    driver = await _driver(session)
    try:
        records = await driver.fetch(compiled.sql, *args)
    except asyncpg.PostgresError as exc:
        raise _translated(session, compiled.sql, args, exc) from exc
    if not compiled.results:
        return records
    processors = compiled.results
    return [
        tuple(v if p is None else p(v) for p, v in zip(processors, record, strict=True))
        for record in records
    ]


def _translated(
    session: AsyncSession, sql: str, args: list[Any], exc: asyncpg.PostgresError
) -> Exception:
    """The ``sqlalchemy.exc`` error ``execute`` raises for this driver error."""
    dialect = session.get_bind().dialect
    dbapi = dialect.loaded_dbapi
    try:
        AsyncAdapt_asyncpg_connection._handle_exception_no_connection(dbapi, exc)
    except Exception as adapted:
        return DBAPIError.instance(sql, args, adapted, dbapi.Error, dialect=dialect)
    raise AssertionError("unreachable: the adapter always raises")


_COLUMN_KEYS: dict[Any, tuple[tuple[str, ...], tuple[int, ...]]] = {}


async def persistent(
    session: AsyncSession, model: type[Any], statement: Any, params: Mapping[str, Any]
) -> list[Any]:
    """The rows of ``statement`` as persistent objects of ``model``, as a query would load them.

    ``statement`` selects the model's table columns, in table order. An object the session
    holds already is refreshed with the row (a query's ``populate_existing``); the others are
    created and put in the identity map. Pending changes are flushed first, as a query
    autoflushes them (not under ``no_autoflush``).
    """
    sync = session.sync_session
    if sync.autoflush and (sync.new or sync.dirty or sync.deleted):
        await session.flush()
    mapper = inspect(model)
    shape = _COLUMN_KEYS.get(mapper)
    if shape is None:
        columns = list(mapper.local_table.columns)
        shape = _COLUMN_KEYS[mapper] = (
            tuple(mapper.get_property_by_column(c).key for c in columns),
            tuple(n for n, c in enumerate(columns) if c.primary_key),
        )
    keys, primary = shape
    identity_map = sync.identity_map
    manager = mapper.class_manager
    # A new object is set up the way the ORM's loader sets one up (identity, session,
    # committed values in its dict); with "load" listeners the public, slower way.
    as_loader = not manager.dispatch.load
    loaded = []
    for row in await rows(session, statement, params):
        identity = mapper.identity_key_from_primary_key([row[n] for n in primary])
        obj = identity_map.get(identity)
        if obj is None and as_loader:
            obj = manager.new_instance()
            state = instance_state(obj)
            state.key, state.identity_token = identity, None
            state.session_id = sync.hash_key
            identity_map._add_unpresent(state, identity)
            state.dict.update(zip(keys, row, strict=True))
            loaded.append(obj)
            continue
        fresh = obj is None  # else refreshed, as populate_existing does
        if fresh:
            obj = manager.new_instance()
        for key, value in zip(keys, row, strict=True):
            set_committed_value(obj, key, value)
        if fresh:
            make_transient_to_detached(obj)
            session.add(obj)
        loaded.append(obj)
    return loaded


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
