"""Which dealers' balances changed, collected in the writing transaction for the sync engine.

Every write that changes a dealer's account balances calls :func:`publish_balance_change` in
the same transaction. For now the dealers are only collected on the session; the integrator
wires this one function to ``sync.publish`` with scope ``dealer:{id}``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.dealers import RebateTerms

_KEY = "accounts.balance_changes"
_ACCOUNTS = "accounts.locked"
_TERMS = "accounts.rebate_terms"


def publish_balance_change(
    session: AsyncSession, dealer_id: uuid.UUID, accounts: dict[Any, Any] | None = None
) -> None:
    """Record that this dealer's balances changed.

    ``accounts``: the dealer's locked account rows (kind -> row) the change went through; the
    publisher then reads the balances from them instead of querying again.
    """
    session.info.setdefault(_KEY, set()).add(dealer_id)
    if accounts:
        session.info.setdefault(_ACCOUNTS, {})[dealer_id] = accounts


def locked_accounts(session: AsyncSession, dealer_id: uuid.UUID) -> dict[Any, Any] | None:
    """The account rows a balance change of this transaction went through, if noted."""
    return session.info.get(_ACCOUNTS, {}).get(dealer_id)


def pending_balance_changes(session: AsyncSession) -> set[uuid.UUID]:
    """The dealers whose balances changed so far in this session's transaction."""
    return set(session.info.get(_KEY, set()))


def note_rebate_terms(session: AsyncSession, dealer_id: uuid.UUID, terms: RebateTerms) -> None:
    """Remember the dealer's rebate terms read earlier in this transaction (the order gate
    reads them), so the publisher shows its balances without reading them again."""
    session.info.setdefault(_TERMS, {})[dealer_id] = terms


def noted_rebate_terms(session: AsyncSession, dealer_id: uuid.UUID) -> RebateTerms | None:
    """The rebate terms noted for this dealer in this transaction, if any."""
    return session.info.get(_TERMS, {}).get(dealer_id)
