"""HQ changes to a dealer's funds: top-ups, adjustments, credit limits; audited, idempotent."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.ledger import (
    Balances,
    balances_of,
    check_amount,
    lock_accounts,
    post_entry,
    read_accounts,
)
from server.accounts.models import AccountKind, EntryKind, JournalEntry
from server.accounts.publication import publish_balance_change
from server.accounts.schemas import AdjustmentIn, TopUpIn
from server.audit import record
from server.dealers import get_dealer, rebate_terms
from server.errors import Conflict, Invalid
from server.identity.principal import Principal
from server.trail import note_decision


async def dealer_balances(session: AsyncSession, dealer_id: uuid.UUID) -> Balances:
    """A dealer's balances (404 for an unknown dealer)."""
    terms = await rebate_terms(session, dealer_id)
    return balances_of(dealer_id, await read_accounts(session, dealer_id), terms)


async def _replay(
    session: AsyncSession,
    *,
    dealer_id: uuid.UUID,
    key: str,
    kind: EntryKind,
    account: AccountKind,
    amount: int,
) -> JournalEntry | None:
    entry = (
        await session.execute(select(JournalEntry).where(JournalEntry.idempotency_key == key))
    ).scalar_one_or_none()
    if entry is None:
        return None
    if (entry.dealer_id, entry.kind, entry.account_kind, entry.amount) != (
        dealer_id,
        kind,
        account,
        amount,
    ):
        raise Conflict(
            "idempotency_key_reused",
            "该幂等键已用于不同的操作",
            "This idempotency key was used for a different change",
        )
    return entry


async def _apply(
    session: AsyncSession,
    actor: Principal,
    *,
    dealer_id: uuid.UUID,
    kind: EntryKind,
    account: AccountKind,
    amount: int,
    reason: str,
    key: str,
) -> tuple[JournalEntry, bool]:
    await get_dealer(session, dealer_id)
    accounts = await lock_accounts(session, dealer_id)
    replayed = await _replay(
        session, dealer_id=dealer_id, key=key, kind=kind, account=account, amount=amount
    )
    if replayed is not None:
        return replayed, True
    if amount == 0:
        raise Invalid("amount_invalid", "调整金额不能为 0", "An adjustment must not be zero")
    target = accounts[account]
    if amount < 0:
        floor = -target.credit_limit if account is AccountKind.CREDIT else 0
        if target.balance + amount < floor:
            raise Conflict(
                "funds_insufficient",
                "调整后余额将低于允许的下限",
                "The account would fall below its floor",
                balance=target.balance,
            )
    if kind is EntryKind.TOP_UP and account is AccountKind.CREDIT and amount > -target.balance:
        # A credit top-up repays what is owed; more would be a deposit: it belongs in prepaid.
        raise Conflict(
            "credit_overpaid",
            "还款金额超过欠款，多余部分请充值到预存款",
            "The repayment exceeds what is owed; deposit the rest to prepaid",
            owed=max(-target.balance, 0),
        )
    entry = post_entry(
        session,
        accounts,
        kind,
        {account: amount, AccountKind.FUNDING: -amount},
        reason=reason,
        account_kind=account,
        amount=amount,
        idempotency_key=key,
        actor_id=actor.user_id,
    )
    await session.flush()
    record(
        session,
        actor,
        f"account.{kind}",
        "dealer",
        dealer_id,
        {"account": str(account), "amount": amount, "reason": reason, "idempotency_key": key},
    )
    return entry, False


async def top_up(
    session: AsyncSession, actor: Principal, dealer_id: uuid.UUID, body: TopUpIn
) -> tuple[JournalEntry, bool]:
    """Money in (prepaid deposit, credit repayment, rebate grant); a repeated key is a no-op."""
    return await _apply(
        session,
        actor,
        dealer_id=dealer_id,
        kind=EntryKind.TOP_UP,
        account=AccountKind(body.account),
        amount=body.amount,
        reason=body.reason,
        key=body.idempotency_key,
    )


async def adjust(
    session: AsyncSession, actor: Principal, dealer_id: uuid.UUID, body: AdjustmentIn
) -> tuple[JournalEntry, bool]:
    """Correct a fund account up or down with a reason; a repeated key changes nothing."""
    return await _apply(
        session,
        actor,
        dealer_id=dealer_id,
        kind=EntryKind.ADJUSTMENT,
        account=AccountKind(body.account),
        amount=body.amount,
        reason=body.reason,
        key=body.idempotency_key,
    )


async def set_credit_limit(
    session: AsyncSession, actor: Principal, dealer_id: uuid.UUID, limit: int, reason: str
) -> Balances:
    """Set the dealer's credit limit (not a posting: the limit bounds credit, it is not money)."""
    await get_dealer(session, dealer_id)
    accounts = await lock_accounts(session, dealer_id)
    before = accounts[AccountKind.CREDIT].credit_limit
    accounts[AccountKind.CREDIT].credit_limit = limit
    await session.flush()
    publish_balance_change(session, dealer_id, accounts)
    record(
        session,
        actor,
        "account.credit_limit_set",
        "dealer",
        dealer_id,
        {"from": before, "to": limit, "reason": reason},
    )
    # The approval trail hashes the dealer and the limit before and after.
    state = {"dealerId": str(dealer_id), "from": before, "to": limit}
    note_decision(session, actor, "credit_limit", dealer_id, "changed", state, reason)
    return balances_of(dealer_id, accounts, await rebate_terms(session, dealer_id))


async def credit_rebate(
    session: AsyncSession,
    dealer_id: uuid.UUID,
    amount: int,
    *,
    key: str,
    reference: str,
    reason: str,
    actor_id: uuid.UUID | None = None,
) -> tuple[JournalEntry, bool]:
    """Grant ``amount`` fen to the dealer's rebate account once per ``key``.

    Returns the entry and whether it was a replay (the key had already paid): claims and
    rebate accruals call this from retried jobs and requests.
    """
    check_amount(amount)
    accounts = await lock_accounts(session, dealer_id)
    replayed = await _replay(
        session,
        dealer_id=dealer_id,
        key=key,
        kind=EntryKind.TOP_UP,
        account=AccountKind.REBATE,
        amount=amount,
    )
    if replayed is not None:
        return replayed, True
    entry = post_entry(
        session,
        accounts,
        EntryKind.TOP_UP,
        {AccountKind.REBATE: amount, AccountKind.FUNDING: -amount},
        reference=reference,
        reason=reason,
        account_kind=AccountKind.REBATE,
        amount=amount,
        idempotency_key=key,
        actor_id=actor_id,
    )
    await session.flush()
    return entry, False
