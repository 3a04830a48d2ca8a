"""Which dealers' balances changed, collected in the writing transaction for the sync engine.

Every write that changes a dealer's account balances calls :func:`publish_balance_change` in
the same transaction. For now the dealers are only collected on the session; the integrator
wires this one function to ``sync.publish`` with scope ``dealer:{id}``.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

_KEY = "accounts.balance_changes"


def publish_balance_change(session: AsyncSession, dealer_id: uuid.UUID) -> None:
    """Record that this dealer's balances changed."""
    session.info.setdefault(_KEY, set()).add(dealer_id)


def pending_balance_changes(session: AsyncSession) -> set[uuid.UUID]:
    """The dealers whose balances changed so far in this session's transaction."""
    return set(session.info.get(_KEY, set()))
