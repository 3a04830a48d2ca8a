"""Dealer scoping: every read of a ``DealerOwned`` table in a dealer's session sees only its rows.

One rule, applied on every path a statement can take:

- ORM statements (``select(Order)``, ``select(Order.id)``, ORM ``update``/``delete``) run
  through ``Session.execute``, whose ``do_orm_execute`` hook adds the dealer criterion to
  every ``DealerOwned`` entity, aliases and subqueries included.
- Core statements over a dealer-owned ``Table`` carry no entity to attach the criterion to:
  in a dealer's session they are refused (:class:`UnscopedRead`, a programming error that
  both databases' tests catch) instead of run unfiltered.
- The raw driver path (``server.db.fast.rows``) asks :func:`reads_dealer_rows` and sends
  such statements through ``Session.execute`` instead, where the two rules above apply.
"""

from __future__ import annotations

import uuid
import weakref
from typing import Any

from sqlalchemy import TableClause, event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.visitors import iterate

from server.db.base import Base, DealerOwned

DEALER_KEY = "dealer_scope"
_CRITERIA_KEY = "dealer_scope_criteria"


class UnscopedRead(RuntimeError):
    """A Core statement over a dealer-owned table in a dealer's session: write it on the entity."""


def scope_to_dealer(session: Any, dealer_id: uuid.UUID) -> None:
    """From now on this session only sees rows of ``dealer_id`` (AsyncSession or Session)."""
    info = session.info
    info[DEALER_KEY] = dealer_id
    info.pop(_CRITERIA_KEY, None)


def dealer_scope(session: Any) -> uuid.UUID | None:
    """The dealer this session is scoped to (None: not scoped)."""
    return session.info.get(DEALER_KEY)


_DEALER_TABLES: frozenset[str] | None = None
# Statements built once at import are asked on every execution: remember each answer for
# as long as its statement lives.
_READS: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _dealer_tables() -> frozenset[str]:
    global _DEALER_TABLES  # noqa: PLW0603 - the mappers are complete only after all imports
    if _DEALER_TABLES is None:
        _DEALER_TABLES = frozenset(
            table.name
            for mapper in Base.registry.mappers
            if issubclass(mapper.class_, DealerOwned)
            for table in mapper.tables
        )
    return _DEALER_TABLES


def reads_dealer_rows(statement: Any) -> bool:
    """Whether ``statement`` names a dealer-owned table anywhere (joins, subqueries, CTEs)."""
    known = _READS.get(statement)
    if known is not None:
        return known
    names = _dealer_tables()
    found = any(
        isinstance(element, TableClause) and element.name in names for element in iterate(statement)
    )
    _READS[statement] = found
    return found


@event.listens_for(Session, "do_orm_execute")
def _filter_dealer_rows(state: ORMExecuteState) -> None:
    dealer_id = state.session.info.get(DEALER_KEY)
    if dealer_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return
    if not state.is_orm_statement:
        if reads_dealer_rows(state.statement):
            raise UnscopedRead(
                "a Core statement over a dealer-owned table in a dealer's session: "
                "select the mapped entity so that dealer scoping applies"
            )
        return
    # Built once per session: constructing the option costs more than the query it filters.
    criteria = state.session.info.get(_CRITERIA_KEY)
    if criteria is None:
        criteria = state.session.info[_CRITERIA_KEY] = with_loader_criteria(
            DealerOwned,
            lambda cls: cls.dealer_id == dealer_id,
            include_aliases=True,
        )
    state.statement = state.statement.options(criteria)
