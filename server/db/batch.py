"""New rows and counter moves of one step, written together instead of by the ORM's flush.

An order's placement creates about twenty rows over eight tables (the order, its lines and
trail, the reservation and its lines, the funds hold, its journal entry and postings, the
audit row) and moves two account balances. The unit of work's flush costs about a quarter of
the server's CPU per order; here the same rows go out as one statement on PostgreSQL (a
data-modifying CTE per table: ``INSERT ... SELECT * FROM unnest(<one array per column>)``,
built with Core once per shape and sent by :func:`server.db.fast.rows`) and as one
``executemany`` per table elsewhere.

Domains keep writing their own tables with their own model classes: where a function knows it
creates a row it calls :func:`add_new` (instead of ``session.add``) and :func:`add_to` for a
counter; outside :func:`batched_writes` both do exactly what the session would. Inside it,
nothing reaches the database until the block ends; then the rows are written and the objects
join the session as persistent and clean (public ORM API: ``make_transient_to_detached`` and
``Session.add``; counters by ``set_committed_value``), so code after the block sees the
same objects it would after a flush. A failure inside the block writes nothing and puts the
counters back.

Only Python-side column defaults can be filled in (a server default would leave the object
without its value): :func:`add_new` refuses a model that relies on one. Nothing here reads
rows, so dealer scoping (which filters reads) has nothing to add: the rows are the ones the
caller built, and counters move only on objects the session already loaded through its
scoped reads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ARRAY,
    Column,
    Table,
    bindparam,
    cast,
    func,
    insert,
    inspect,
    literal_column,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import RelationshipDirection, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from server.db.fast import python_default, write

_KEY = "batched_writes"


@dataclass(slots=True)
class _Move:
    target: Any
    attribute: str
    column: Column[Any]
    delta: int
    before: Any


@dataclass(slots=True)
class _Batch:
    objects: list[Any] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    moves: list[_Move] = field(default_factory=list)


def _open(session: AsyncSession) -> _Batch | None:
    return session.info.get(_KEY)


def add_new(session: AsyncSession, obj: Any) -> None:
    """``obj`` is a new row (with the new objects in its collections, e.g. an order's lines):
    written at the end of the open batch, else added to the session as ``session.add`` would."""
    batch = _open(session)
    if batch is None:
        session.add(obj)
        return
    state = inspect(obj)
    if not state.transient:
        raise ValueError(f"{obj!r} is not a new object")
    for new in (obj, *(child for child, *_ in state.mapper.cascade_iterator("save-update", state))):
        if inspect(new).transient and id(new) not in batch.seen:
            batch.seen.add(id(new))
            batch.objects.append(new)


def add_to(session: AsyncSession, obj: Any, attribute: str, delta: int) -> None:
    """Move a loaded object's counter by ``delta`` (``UPDATE ... SET c = c + delta`` in a
    batch, where the object shows the new value at once; else a plain attribute change)."""
    batch = _open(session)
    if batch is None:
        setattr(obj, attribute, getattr(obj, attribute) + delta)
        return
    state = inspect(obj)
    if state.identity is None:
        raise ValueError(f"{obj!r}: counters move on rows already in the database")
    before = getattr(obj, attribute)
    column = state.mapper.column_attrs[attribute].columns[0]
    batch.moves.append(_Move(obj, attribute, column, delta, before))
    set_committed_value(obj, attribute, before + delta)


@asynccontextmanager
async def batched_writes(session: AsyncSession) -> AsyncIterator[None]:
    """Collect :func:`add_new` rows and :func:`add_to` moves; write them when the block ends.

    Not nested, and only for code that does not read back in SQL what it created in the block.
    """
    if _open(session) is not None:
        raise RuntimeError("batched_writes is already open on this session")
    batch = session.info[_KEY] = _Batch()
    try:
        yield
        del session.info[_KEY]
        await _write(session, batch)
    except BaseException:
        session.info.pop(_KEY, None)
        for move in reversed(batch.moves):
            set_committed_value(move.target, move.attribute, move.before)
        raise
    for obj in batch.objects:
        make_transient_to_detached(obj)
    session.add_all(batch.objects)


# -- writing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Insert:
    table: Table
    columns: tuple[Column[Any], ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one model's new objects become rows (worked out once per mapper)."""

    table: Table
    keys: tuple[str, ...]  # attribute key per column
    columns: tuple[Column[Any], ...]
    defaults: tuple[tuple[str, Callable[[], Any]], ...]  # Python-side column defaults
    # Relationships whose related objects give this row, or take from it, a foreign key:
    # (attribute, whether the related objects are the parents, [(parent key, child key)]).
    links: tuple[tuple[str, bool, tuple[tuple[str, str], ...]], ...]


_PLANS: dict[Any, _Plan] = {}


def _plan(mapper: Any) -> _Plan:
    known = _PLANS.get(mapper)
    if known is not None:
        return known
    table = mapper.local_table
    assert isinstance(table, Table)
    attrs = list(mapper.column_attrs)
    defaults = []
    for attr in attrs:
        column = attr.columns[0]
        if column.server_default is not None and column.default is None:
            raise ValueError(f"{table.name}.{column.name} has only a server default")
        defaults.append((attr.key, python_default(column.default)))
    links = []
    for rel in mapper.relationships:
        if rel.direction is RelationshipDirection.MANYTOONE:
            parent, child = rel.mapper, mapper
        elif rel.direction is RelationshipDirection.ONETOMANY:
            parent, child = mapper, rel.mapper
        else:
            continue
        pairs = tuple(
            (parent.get_property_by_column(p).key, child.get_property_by_column(c).key)
            for p, c in rel.synchronize_pairs
        )
        links.append((rel.key, rel.direction is RelationshipDirection.MANYTOONE, pairs))
    known = _PLANS[mapper] = _Plan(
        table=table,
        keys=tuple(a.key for a in attrs),
        columns=tuple(a.columns[0] for a in attrs),
        defaults=tuple(defaults),
        links=tuple(links),
    )
    return known


def _inserts(objects: Sequence[Any]) -> list[_Insert]:
    """The objects' rows per table, parents first, every column given (defaults filled in,
    foreign keys taken from the related objects, as the flush would)."""
    planned = [(obj, _plan(inspect(obj).mapper)) for obj in objects]
    for obj, plan in planned:
        values = inspect(obj).dict
        for key, produce in plan.defaults:
            if key not in values:
                set_committed_value(obj, key, produce())
    for obj, plan in planned:
        _link(obj, plan)
    by_table: dict[Table, _Insert] = {}
    for obj, plan in planned:
        group = by_table.get(plan.table)
        if group is None:
            group = by_table[plan.table] = _Insert(plan.table, plan.columns, [])
        values = inspect(obj).dict
        group.rows.append(tuple(values[key] for key in plan.keys))
    if not by_table:
        return []
    order = {table: n for n, table in enumerate(_sorted_tables(by_table))}
    return sorted(by_table.values(), key=lambda g: order[g.table])


def _link(obj: Any, plan: _Plan) -> None:
    """Copy the keys of related objects into the foreign-key attributes of the rows that refer
    to them (a line's ``order_id`` from its order), by the relationships' own column pairs."""
    values = inspect(obj).dict
    for key, to_parent, pairs in plan.links:
        related = values.get(key)
        if related is None:
            continue
        if to_parent:
            _copy(related, obj, pairs)
        else:
            for child in related if isinstance(related, Iterable) else (related,):
                _copy(obj, child, pairs)


def _copy(parent: Any, child: Any, pairs: tuple[tuple[str, str], ...]) -> None:
    parent_values, child_values = inspect(parent).dict, inspect(child).dict
    for parent_key, child_key in pairs:
        value = parent_values[parent_key]
        if child_values.get(child_key) != value:
            set_committed_value(child, child_key, value)


def _sorted_tables(tables: Any) -> tuple[Table, ...]:
    """The tables parents first (the metadata's dependency order; sorted once per set)."""
    key = frozenset(tables)
    known = _TABLE_ORDER.get(key)
    if known is None:
        metadata = next(iter(key)).metadata
        known = _TABLE_ORDER[key] = tuple(t for t in metadata.sorted_tables if t in key)
    return known


_TABLE_ORDER: dict[frozenset[Table], tuple[Table, ...]] = {}


def _moves(batch: _Batch) -> dict[tuple[Table, str], dict[Any, _Move]]:
    """Per table and column, one net move per object (a row is updated once per statement)."""
    grouped: dict[tuple[Table, str], dict[Any, _Move]] = {}
    for move in batch.moves:
        table = move.column.table
        assert isinstance(table, Table)
        per_row = grouped.setdefault((table, move.column.name), {})
        key = inspect(move.target).identity
        known = per_row.get(key)
        per_row[key] = (
            move
            if known is None
            else _Move(
                move.target, move.attribute, move.column, known.delta + move.delta, known.before
            )
        )
    return grouped


async def _write(session: AsyncSession, batch: _Batch) -> None:
    inserts = _inserts(batch.objects)
    moves = _moves(batch)
    if not inserts and not moves:
        return
    if session.get_bind().dialect.name == "postgresql":
        await _write_one_statement(session, inserts, moves)
        return
    for group in inserts:
        columns = [c.name for c in group.columns]
        await session.execute(
            insert(group.table), [dict(zip(columns, r, strict=True)) for r in group.rows]
        )
    for (table, name), per_row in moves.items():
        for move in per_row.values():
            # On the mapped class, so that a dealer's session scopes it like any ORM update.
            model = type(move.target)
            await session.execute(
                update(model)
                .where(inspect(model).primary_key[0] == inspect(move.target).identity[0])
                .values({name: table.c[name] + move.delta, **_onupdates(table)})
                .execution_options(synchronize_session=False)  # the object already shows it
            )


def _onupdates(table: Table) -> dict[str, Any]:
    return {c.name: python_default(c.onupdate)() for c in table.columns if c.onupdate is not None}


# One statement per shape (which tables, which counters): built and compiled once.
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


async def _write_one_statement(
    session: AsyncSession, inserts: list[_Insert], moves: dict[tuple[Table, str], dict[Any, _Move]]
) -> None:
    shape = (tuple(g.table.name for g in inserts), tuple((t.name, c) for t, c in moves))
    statement = _STATEMENTS.get(shape)
    if statement is None:
        statement = _STATEMENTS[shape] = _statement(inserts, list(moves))
    params: dict[str, Any] = {}
    for n, group in enumerate(inserts):
        for m, values in enumerate(zip(*group.rows, strict=True)):
            params[f"i{n}_{m}"] = list(values)
    for n, ((table, _name), per_row) in enumerate(moves.items()):
        params[f"m{n}_id"] = [identity[0] for identity in per_row]
        params[f"m{n}_delta"] = [move.delta for move in per_row.values()]
        for column, value in _onupdates(table).items():
            params[f"m{n}_{column}"] = value
    await write(session, statement, params)


def _statement(inserts: list[_Insert], moves: list[tuple[Table, str]]) -> Any:
    """``WITH i0 AS (INSERT ... SELECT * FROM unnest(...)), ..., m0 AS (UPDATE ...) SELECT 1``."""
    ctes = []
    for n, group in enumerate(inserts):
        arrays = [
            cast(bindparam(f"i{n}_{m}", type_=ARRAY(c.type)), ARRAY(c.type))
            for m, c in enumerate(group.columns)
        ]
        names = [c.name for c in group.columns]
        source = func.unnest(*arrays).table_valued(*names).render_derived(name=f"i{n}_rows")
        ctes.append(insert(group.table).from_select(names, select(*source.c)).cte(f"i{n}"))
    for n, (table, name) in enumerate(moves):
        (key,) = table.primary_key.columns
        column = table.c[name]
        source = (
            func.unnest(
                cast(bindparam(f"m{n}_id", type_=ARRAY(key.type)), ARRAY(key.type)),
                cast(bindparam(f"m{n}_delta", type_=ARRAY(column.type)), ARRAY(column.type)),
            )
            .table_valued("id", "delta")
            .render_derived(name=f"m{n}_rows")
        )
        values: dict[str, Any] = {name: column + source.c.delta}
        for c in table.columns:
            if c.onupdate is not None:
                values[c.name] = bindparam(f"m{n}_{c.name}", type_=c.type)
        ctes.append(update(table).where(key == source.c.id).values(values).cte(f"m{n}"))
    statement = select(literal_column("1"))
    for cte in ctes:
        statement = statement.add_cte(cte)
    return statement
