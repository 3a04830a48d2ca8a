"""Quote decisions in the approval trail (``server.trail``).

The state a decision is about: the dealer, the amounts (list, policy, quoted; currency), the
extra discount, the pricing basis fingerprint, the expiry, and every line as
``[line, sku, qty, gift, requested unit price, amount]``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.quotes.models import Quote
from server.trail import Actor, note_decision


def decision_state(quote: Quote) -> dict[str, Any]:
    return {
        "dealerId": str(quote.dealer_id),
        "currency": quote.currency,
        "listAmount": quote.list_amount,
        "policyAmount": quote.policy_amount,
        "amount": quote.amount,
        "extraDiscountBp": quote.extra_discount_bp,
        "basisFingerprint": quote.basis_fingerprint,
        "validUntil": quote.valid_until,
        "lines": [
            [ln.line, ln.sku_code, ln.qty, ln.gift, ln.requested_unit_price, ln.amount]
            for ln in quote.lines
        ],
    }


def note_quote_decision(
    session: AsyncSession, actor: Actor, quote: Quote, outcome: str, comment: str = ""
) -> None:
    """Note ``outcome`` (approved, rejected, accepted) on ``quote`` in the approval trail."""
    note_decision(session, actor, "quote", quote.id, outcome, decision_state(quote), comment)
