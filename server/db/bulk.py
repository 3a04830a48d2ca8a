"""Flush a session's pending rows in one statement on PostgreSQL.

The ORM's flush writes one statement per table (and per shape of row), each with its own
round trip and its own bookkeeping: an order of five lines with its reservation, hold,
ledger postings, events and audit row costs nine statements and, on the dev box, more CPU
than everything else the placement does. :func:`flush_in_one` writes the same rows with one
data-modifying CTE: one ``INSERT ... SELECT unnest(...)`` per table of new rows and one
``UPDATE ... FROM unnest(...)`` per table of changed rows, the columns sent as arrays.
The objects then become persistent in the session exactly as after a flush (identity map,
committed attribute state), so the code after it cannot tell the difference.

What it does not handle falls back to ``session.flush()``, which is also what SQLite gets:
deletions, keys or defaults the database generates, and inheritance. Foreign keys between
rows of one statement are checked at its end, so parents and children go together.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    MetaData,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.interfaces import MANYTOONE, ONETOMANY

from server.db import fast
from server.db.dialect import is_postgresql

# (table, "insert" | "update", columns) per part -> the statement; the shapes of one
# service's writes are few, and a statement built once keeps SQLAlchemy's compiled cache warm.
_Shape = tuple[tuple[str, str, tuple[str, ...]], ...]
_STATEMENTS: dict[_Shape, Any] = {}


class _Unsupported(Exception):
    """Something only the ORM's own flush knows how to write."""


def _is_json(column: Column[Any]) -> bool:
    return isinstance(column.type, JSON)


def _values(table: Table, column: Column[Any], kind: str) -> Any:
    """The column's values unnested from one array parameter.

    JSON documents travel as text and are cast back: a list-valued document would otherwise
    be taken for one more dimension of the array.
    """
    name = f"{kind}_{table.name}_{column.name}"
    if _is_json(column):
        return cast(func.unnest(bindparam(name, type_=ARRAY(Text()))), column.type)
    return func.unnest(bindparam(name, type_=ARRAY(column.type)))


def _rows_of(table: Table, columns: tuple[Column[Any], ...], kind: str) -> Any:
    return select(*(_values(table, c, kind).label(c.name) for c in columns)).subquery(
        f"v_{kind}_{table.name}"
    )


def _wire(column: Column[Any], value: Any, explicit: bool) -> Any:
    """A JSON column's value as the text the flush would send (``None`` is SQL NULL)."""
    if value is None and not (explicit and not column.type.none_as_null):  # type: ignore[attr-defined]
        return None
    return json.dumps(value)


def _statement(parts: list[tuple[Table, str, tuple[Column[Any], ...]]]) -> Any:
    shape: _Shape = tuple((t.name, kind, tuple(c.name for c in cols)) for t, kind, cols in parts)
    stmt = _STATEMENTS.get(shape)
    if stmt is not None:
        return stmt
    ctes = []
    for n, (table, kind, columns) in enumerate(parts):
        if kind == "insert":
            rows = select(*(_values(table, c, kind) for c in columns))
            part: Any = insert(table).from_select([c.name for c in columns], rows)
        else:
            keys = [c for c in columns if c.primary_key]
            v = _rows_of(table, columns, kind)
            part = (
                update(table)
                .values({c.name: v.c[c.name] for c in columns if not c.primary_key})
                .where(*(table.c[k.name] == v.c[k.name] for k in keys))
            )
        ctes.append(part.cte(f"w{n}"))
    stmt = _STATEMENTS[shape] = select(literal(1)).add_cte(*ctes)
    return stmt


def _default(column: Column[Any]) -> Callable[[], Any] | None:
    """A zero-argument producer of the column's Python-side default (``None``: NULL)."""
    if column.default is None:
        if column.server_default is not None:
            raise _Unsupported(f"{column} has a server default")
        return None
    return _python(column.default, column)


def _python(default: Any, column: Column[Any]) -> Callable[[], Any]:
    try:
        return fast.python_default(default)
    except ValueError as exc:
        raise _Unsupported(f"{column} has a SQL default or onupdate") from exc


@dataclass(frozen=True, slots=True)
class _Field:
    column: Column[Any]
    key: str
    default: Callable[[], Any] | None
    json: bool
    evaluate_none: bool
    onupdate: Callable[[], Any] | None


@dataclass(frozen=True, slots=True)
class _Model:
    """What writing one mapped class takes, worked out once per class."""

    table: Table
    fields: tuple[_Field, ...]
    keys: tuple[_Field, ...]
    # (relationship key, one-to-many?, ((source attribute, target attribute), ...))
    links: tuple[tuple[str, bool, tuple[tuple[str, str], ...]], ...]


_MODELS: dict[Mapper[Any], _Model] = {}
_TABLE_ORDER: dict[MetaData, dict[Table, int]] = {}


def _model(mapper: Mapper[Any]) -> _Model:
    model = _MODELS.get(mapper)
    if model is not None:
        return model
    table = mapper.local_table
    if mapper.inherits is not None or len(mapper.tables) != 1 or not isinstance(table, Table):
        raise _Unsupported(f"{mapper} spans tables")
    fields = []
    for column in table.columns:
        onupdate = column.onupdate
        fields.append(
            _Field(
                column=column,
                key=mapper.get_property_by_column(column).key,
                default=_default(column),
                json=_is_json(column),
                evaluate_none=bool(column.type.should_evaluate_none),
                onupdate=None if onupdate is None else _python(onupdate, column),
            )
        )
    links = []
    for prop in mapper.relationships:
        if prop.secondary is not None or prop.direction not in (ONETOMANY, MANYTOONE):
            continue
        one_to_many = prop.direction is ONETOMANY
        pairs = tuple(
            (
                (mapper if one_to_many else prop.mapper).get_property_by_column(source).key,
                (prop.mapper if one_to_many else mapper).get_property_by_column(target).key,
            )
            for source, target in prop.synchronize_pairs
        )
        links.append((prop.key, one_to_many, pairs))
    model = _MODELS[mapper] = _Model(
        table=table,
        fields=tuple(fields),
        keys=tuple(f for f in fields if f.column.primary_key),
        links=tuple(links),
    )
    return model


def _table_order(table: Table) -> dict[Table, int]:
    order = _TABLE_ORDER.get(table.metadata)
    if order is None:
        tables = table.metadata.sorted_tables
        order = _TABLE_ORDER[table.metadata] = {t: n for n, t in enumerate(tables)}
    return order


def _sync_foreign_keys(new: list[tuple[Any, _Model]]) -> None:
    """Copy parent keys into children, as the flush does for relationships."""
    for obj, model in new:
        state = obj.__dict__
        for key, one_to_many, pairs in model.links:
            if key not in state:
                continue
            related = state[key]
            if one_to_many:
                for child in related or ():
                    _copy(obj, child, pairs)
            elif related is not None:
                _copy(related, obj, pairs)


def _copy(source: Any, target: Any, pairs: tuple[tuple[str, str], ...]) -> None:
    for source_key, target_key in pairs:
        value = getattr(source, source_key)
        if value is None:
            raise _Unsupported(f"{source_key} is not known before the insert")
        setattr(target, target_key, value)


def _insert_row(obj: Any, model: _Model) -> list[Any]:
    state = obj.__dict__
    row = []
    for f in model.fields:
        value = state.get(f.key)
        explicit = f.evaluate_none and f.key in state
        if value is None and not explicit and f.default is not None:
            value = f.default()
            setattr(obj, f.key, value)
        if value is None and f.column.primary_key:
            raise _Unsupported(f"{f.column} is generated by the database")
        row.append(_wire(f.column, value, explicit) if f.json else value)
    return row


def _update_row(obj: Any, model: _Model) -> tuple[tuple[_Field, ...], list[Any]] | None:
    state = instance_state(obj)
    for key, _one_to_many, _pairs in model.links:
        if key in state.committed_state and state.attrs[key].history.deleted:
            raise _Unsupported(f"{key}: removed children may be orphans to delete")
    # What the flush's history would show: attributes set since loaded, to another value.
    before, now = state.committed_state, state.dict
    changed = tuple(f for f in model.fields if f.key in before and before[f.key] != now.get(f.key))
    if not changed:
        return None
    if any(f.column.primary_key for f in changed):
        raise _Unsupported(f"{model.table}: a primary key changed")
    touched = tuple(f for f in model.fields if f.onupdate is not None and f not in changed)
    for f in touched:
        setattr(obj, f.key, f.onupdate())  # type: ignore[misc]
    fields = changed + touched + model.keys
    return fields, [
        _wire(f.column, getattr(obj, f.key), True) if f.json else getattr(obj, f.key)
        for f in fields
    ]


async def flush_in_one(session: AsyncSession) -> None:
    """Write the session's new and changed rows; one statement on PostgreSQL."""
    if not is_postgresql(session) or session.deleted:
        await session.flush()
        return
    new = list(session.new)
    dirty = list(session.dirty)  # marked modified; _update_row skips those set to the same
    if not new and not dirty:
        return
    try:
        parts, params = _plan(new, dirty)
    except _Unsupported:
        await session.flush()
        return
    await fast.rows(session, _statement(parts), params)
    # Written: the objects become persistent with what was written as their committed state,
    # exactly as the flush's own last step does.
    session.sync_session._register_persistent({instance_state(obj) for obj in (*new, *dirty)})


def _plan(
    new: list[Any], dirty: list[Any]
) -> tuple[list[tuple[Table, str, tuple[Column[Any], ...]]], dict[str, Any]]:
    models = [(obj, _model(instance_state(obj).mapper)) for obj in new]
    changed = [(obj, _model(instance_state(obj).mapper)) for obj in dirty]
    # Children added to a new or a changed parent take its key.
    _sync_foreign_keys([*models, *changed])
    inserts: dict[Table, tuple[_Model, list[list[Any]]]] = {}
    for obj, model in models:
        inserts.setdefault(model.table, (model, []))[1].append(_insert_row(obj, model))
    updates: dict[Table, tuple[tuple[_Field, ...], list[list[Any]]]] = {}
    for obj, model in changed:
        update = _update_row(obj, model)
        if update is None:
            continue
        fields, row = update
        if model.table in updates and updates[model.table][0] != fields:
            raise _Unsupported(f"{model.table} changed in two shapes")
        updates.setdefault(model.table, (fields, []))[1].append(row)
    tables = [*inserts, *updates]
    if not tables or len({t.metadata for t in tables}) != 1:
        raise _Unsupported("rows of several metadata")
    order = _table_order(tables[0])
    parts: list[tuple[Table, str, tuple[Column[Any], ...]]] = []
    params: dict[str, Any] = {}
    for table in sorted(inserts, key=order.__getitem__):
        model, rows = inserts[table]
        parts.append((table, "insert", tuple(f.column for f in model.fields)))
        for n, f in enumerate(model.fields):
            params[f"insert_{table.name}_{f.column.name}"] = [r[n] for r in rows]
    for table in sorted(updates, key=order.__getitem__):
        fields, rows = updates[table]
        parts.append((table, "update", tuple(f.column for f in fields)))
        for n, f in enumerate(fields):
            params[f"update_{table.name}_{f.column.name}"] = [r[n] for r in rows]
    return parts, params
