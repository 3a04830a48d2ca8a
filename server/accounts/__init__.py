"""Dealer fund accounts: prepaid, credit and rebate as a double-entry ledger.

The order state machine calls these (never commits):

    hold_funds(session, dealer_id, reference, amount, sources, rebate_cap=None) -> Hold
    capture_hold(session, reference, amount=None, final=True) -> Hold
    release_hold(session, reference) -> Hold

Balances: ``dealer_balances(session, dealer_id)``, shown by ``balances_out`` (``available`` is
prepaid + credit; rebate is apart, ``rebateAvailable`` within each order's cap).

Returns give captured funds back to their sources and claw back accrued rebate:

    refund_capture(session, reference, amount, clawback=, key=) -> Refund
    rebate_accrued(session, dealer_id, reference_prefix) -> fen

Claims and rebate accruals credit the rebate account once per idempotency key:

    credit_rebate(session, dealer_id, amount, key=, reference=, reason=) -> (entry, replayed)
"""

from server.accounts.funds import credit_rebate, dealer_balances
from server.accounts.holds import Hold, capture_hold, get_hold, hold_funds, release_hold
from server.accounts.ledger import Balances, ledger_faults, rebuild_balances
from server.accounts.models import AccountKind, HoldStatus
from server.accounts.publication import note_rebate_terms
from server.accounts.refunds import Refund, rebate_accrued, refund_capture
from server.accounts.schemas import balances_out

__all__ = [
    "AccountKind",
    "Balances",
    "Hold",
    "HoldStatus",
    "Refund",
    "balances_out",
    "capture_hold",
    "credit_rebate",
    "dealer_balances",
    "get_hold",
    "hold_funds",
    "ledger_faults",
    "note_rebate_terms",
    "rebate_accrued",
    "rebuild_balances",
    "refund_capture",
    "release_hold",
]
