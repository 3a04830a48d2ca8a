"""Repository building blocks shared by the domains: lookups, keyset pages, conflict mapping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from server.errors import Conflict, NotFound
from server.messages import CATALOGUE
from server.schemas import decode_cursor, encode_cursor

M = TypeVar("M")


async def get_or_404(
    session: AsyncSession, model: type[M], key: Any, what: str = "", *, for_update: bool = False
) -> M:
    """Load by primary key through the session (dealer scoping applies) or raise NotFound.

    ``for_update`` locks the row until the transaction ends (PostgreSQL; SQLite has one
    writer anyway): concurrent rewrites of the row and its children then run one at a time.
    """
    stmt = _select_by_pk(model, key)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        code = f"{what or model.__name__.lower()}_not_found"
        raise NotFound(code) if code in CATALOGUE else NotFound("record_not_found")
    return row


def _select_by_pk(model: type[Any], key: Any) -> Select[Any]:
    from sqlalchemy import inspect, select

    pk = inspect(model).primary_key
    return select(model).where(pk[0] == key)


async def flush_or_conflict(session: AsyncSession, code: str = "already_exists") -> None:
    """Flush inside a savepoint so a unique violation becomes a 409 and the request can go on."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # unique or foreign key: the row conflicts with others
        raise Conflict(
            code, "数据已存在或与现有数据冲突", "Already exists or conflicts with existing data"
        ) from exc


async def keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    key: InstrumentedAttribute[Any],
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Any], str | None]:
    """One page ordered by a unique string-able key, and the cursor of the next page."""
    after = decode_cursor(cursor)
    if after is not None:
        stmt = stmt.where(key > _coerce(key, after))
    rows = (await session.execute(stmt.order_by(key).limit(limit + 1))).scalars().all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(str(getattr(rows[-1], key.key)))
    return rows, next_cursor


def _coerce(key: InstrumentedAttribute[Any], raw: str) -> Any:
    import uuid

    python_type = key.type.python_type
    if python_type is uuid.UUID:
        try:
            return uuid.UUID(raw)
        except ValueError as exc:
            from server.errors import BadRequest

            raise BadRequest("cursor_invalid", "分页游标无效", "Invalid page cursor") from exc
    return raw
