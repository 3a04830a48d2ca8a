"""Refunds of captured order funds and clawbacks of accrued rebate (returns; never commits).

    refund_capture(session, reference, amount, clawback=, key=) -> Refund
    rebate_accrued(session, dealer_id, reference_prefix) -> fen

A refund gives ``amount`` fen of what an order's hold captured back to the sources that paid
it, in proportion to what each captured (rebate's and credit's share rounded down on the
running total of refunds, prepaid taking the rest), and never more than any source captured
less what earlier refunds gave it back (``funds_holds.refunded_*``, checked by the database
too). Credit is given back as a repayment of what is owed; whatever exceeds the debt (the
dealer repaid it since) goes to prepaid, as a credit top-up would.

A clawback takes rebate accrued on returned goods back from the rebate account; when the
rebate account cannot cover it (the dealer spent it), the rest is kept from this refund's
prepaid and then credit parts; what even that cannot cover is forgiven and reported
(``clawback_short``). Both entries lock the dealer's accounts first (see ``ledger``).
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.holds import locked_hold
from server.accounts.ledger import Accounts, available_in, post_entry
from server.accounts.models import AccountKind, EntryKind, FundsHold, JournalEntry
from server.errors import Invalid

K = AccountKind


class Refund(msgspec.Struct, frozen=True, kw_only=True):
    """What a refund gave each source and what the clawback took (fen)."""

    amount: int
    prepaid: int
    credit: int
    rebate: int
    clawback: int = 0
    clawback_short: int = 0


def refundable(hold: FundsHold) -> dict[AccountKind, int]:
    """What each source captured and has not been given back yet."""
    return {
        K.PREPAID: hold.captured_prepaid - hold.refunded_prepaid,
        K.CREDIT: hold.captured_credit - hold.refunded_credit,
        K.REBATE: hold.captured_rebate - hold.refunded_rebate,
    }


def refund_split(hold: FundsHold, amount: int) -> dict[AccountKind, int]:
    """Which sources get ``amount`` back: rebate and credit their share of every refund so far
    (rounded down), prepaid the rest; no source above what it has left to give back."""
    left = refundable(hold)
    refunded = hold.refunded_prepaid + hold.refunded_credit + hold.refunded_rebate
    after = refunded + amount
    parts = {K.PREPAID: 0, K.CREDIT: 0, K.REBATE: 0}
    for kind, captured, done in (
        (K.REBATE, hold.captured_rebate, hold.refunded_rebate),
        (K.CREDIT, hold.captured_credit, hold.refunded_credit),
    ):
        due = captured * after // hold.captured - done
        parts[kind] = min(max(due, 0), left[kind], amount - sum(parts.values()))
    rest = amount - sum(parts.values())
    for kind in (K.PREPAID, K.CREDIT, K.REBATE):  # rounding leftovers, within each source
        take = min(rest, left[kind] - parts[kind])
        parts[kind] += take
        rest -= take
    assert rest == 0, "a refund within what was captured always fits the sources"
    return parts


def _check_refund(hold: FundsHold, amount: int) -> None:
    left = sum(refundable(hold).values())
    if isinstance(amount, bool) or not 0 < amount <= left:
        raise Invalid(
            "refund_exceeds_paid",
            "退款金额超过该订单已付金额",
            "A refund cannot exceed what the order paid and has not been refunded",
            amount=amount,
            refundable=left,
        )


def _credit_postings(accounts: Accounts, credit: int) -> dict[AccountKind, int]:
    """Credit given back: a repayment up to what is owed, the excess to prepaid."""
    owed = max(-accounts[K.CREDIT].balance, 0)
    repay = min(credit, owed)
    return {K.CREDIT: repay, K.PREPAID: credit - repay}


def _clawback_postings(
    accounts: Accounts, refund: dict[AccountKind, int], due: int
) -> tuple[dict[AccountKind, int], int]:
    """Who pays a clawback of ``due``: rebate, then this refund's prepaid and credit parts;
    the postings (funding receives) and what is left uncovered."""
    postings: dict[AccountKind, int] = {}
    rest = due
    for kind in (K.REBATE, K.PREPAID, K.CREDIT):
        room = available_in(accounts, kind) if kind is K.REBATE else refund.get(kind, 0)
        take = min(rest, max(room, 0))
        if take:
            postings[kind] = -take
            rest -= take
    postings[K.FUNDING] = due - rest
    return postings, rest


def _post_refund(
    session: AsyncSession,
    hold: FundsHold,
    accounts: Accounts,
    amount: int,
    entry: dict[str, Any],
) -> tuple[dict[AccountKind, int], dict[AccountKind, int]]:
    """Post the refund of ``amount``: what each source got back, and the postings."""
    _check_refund(hold, amount)
    parts = refund_split(hold, amount)
    hold.refunded_prepaid += parts[K.PREPAID]
    hold.refunded_credit += parts[K.CREDIT]
    hold.refunded_rebate += parts[K.REBATE]
    credit = _credit_postings(accounts, parts[K.CREDIT])
    postings = {
        K.SALES: -amount,
        K.REBATE: parts[K.REBATE],
        K.CREDIT: credit[K.CREDIT],
        K.PREPAID: parts[K.PREPAID] + credit[K.PREPAID],
    }
    post_entry(session, accounts, EntryKind.REFUND, postings, account_kind=K.SALES, **entry)
    return parts, postings


async def refund_capture(
    session: AsyncSession,
    reference: str,
    amount: int,
    *,
    clawback: int = 0,
    key: str,
    actor_id: uuid.UUID | None = None,
) -> Refund:
    """Give ``amount`` fen of the hold's capture back to its sources in proportion (422
    ``refund_exceeds_paid`` above what is left) and claw back ``clawback`` fen of rebate.
    ``key`` (unique, at most 55 characters) makes each entry happen once."""
    hold, accounts = await locked_hold(session, reference)
    parts = {K.PREPAID: 0, K.CREDIT: 0, K.REBATE: 0}
    postings: dict[AccountKind, int] = {}
    if amount:
        entry = {
            "reference": reference,
            "amount": -amount,
            "idempotency_key": f"refund:{key}",
            "actor_id": actor_id,
        }
        parts, postings = _post_refund(session, hold, accounts, amount, entry)
    short = 0
    if clawback > 0:
        landed = {K.PREPAID: postings.get(K.PREPAID, 0), K.CREDIT: postings.get(K.CREDIT, 0)}
        taken, short = _clawback_postings(accounts, landed, clawback)
        if taken[K.FUNDING]:
            post_entry(
                session,
                accounts,
                EntryKind.CLAWBACK,
                taken,
                reference=reference,
                account_kind=K.REBATE,
                amount=-taken[K.FUNDING],
                idempotency_key=f"clawback:{key}",
                actor_id=actor_id,
            )
    await session.flush()
    return Refund(
        amount=amount,
        prepaid=parts[K.PREPAID],
        credit=parts[K.CREDIT],
        rebate=parts[K.REBATE],
        clawback=clawback - short,
        clawback_short=short,
    )


async def rebate_accrued(session: AsyncSession, dealer_id: uuid.UUID, reference_prefix: str) -> int:
    """Rebate credited to the dealer by accruals whose reference starts with the prefix."""
    e = JournalEntry
    total = await session.scalar(
        select(func.coalesce(func.sum(e.amount), 0)).where(
            e.dealer_id == dealer_id,
            e.kind == EntryKind.TOP_UP,
            e.account_kind == K.REBATE,
            e.reference.startswith(reference_prefix, autoescape=True),
        )
    )
    return int(total or 0)
