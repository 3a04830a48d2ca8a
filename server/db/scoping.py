"""Dealer scoping: one mechanism that filters every ``DealerOwned`` query by the token's dealer."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from server.db.base import DealerOwned

DEALER_KEY = "dealer_scope"
_CRITERIA_KEY = "dealer_scope_criteria"


def scope_to_dealer(session: Any, dealer_id: uuid.UUID) -> None:
    """From now on this session only sees rows of ``dealer_id`` (AsyncSession or Session)."""
    info = session.info
    info[DEALER_KEY] = dealer_id
    info.pop(_CRITERIA_KEY, None)


def dealer_scope(session: Any) -> uuid.UUID | None:
    return session.info.get(DEALER_KEY)


@event.listens_for(Session, "do_orm_execute")
def _filter_dealer_rows(state: ORMExecuteState) -> None:
    dealer_id = state.session.info.get(DEALER_KEY)
    if dealer_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
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
