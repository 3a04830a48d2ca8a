"""The ledger's one write path: lock a dealer's accounts, post a balanced entry, rebuild.

Every change to a dealer's accounts first locks all six of its account rows in one fixed
order (``SELECT ... ORDER BY kind FOR UPDATE``): concurrent writers for one dealer queue
there, so checks of available funds and the postings that follow see the same balances,
and no two writers ever lock in opposite orders (no deadlocks). On SQLite write
transactions are already serial (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

import msgspec
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import AccountKind, EntryKind, JournalEntry, LedgerAccount, Posting
from server.accounts.publication import publish_balance_change
from server.db.base import utcnow
from server.db.batch import add_new, add_to
from server.db.dialect import insert_ignoring_duplicates
from server.dealers import RebateTerms
from server.errors import Invalid

MAX_AMOUNT = 100_000_000_000
"""One billion yuan in fen: no single movement of a dealer's funds is larger."""

Accounts = dict[AccountKind, LedgerAccount]


class Balances(msgspec.Struct, frozen=True, kw_only=True):
    """A dealer's funds as the dealer sees them (fen)."""

    dealer_id: uuid.UUID
    currency: str
    prepaid: int
    rebate: int
    credit_limit: int
    credit_used: int
    credit_available: int
    held: int
    available: int
    """prepaid + credit available: what any order can draw on. Rebate is not in it: it pays
    only its share of an order (``rebate_available``, within the tier's cap)."""
    rebate_available: int
    """The rebate orders may spend, each within its cap (0 when the tier allows none)."""
    rebate_terms: RebateTerms
    """The tier's cap (share of an order's eligible goods, exclusions), the default choice."""


def check_amount(amount: int, what: str = "amount") -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise Invalid(
            "amount_invalid",
            "金额必须是正整数（分）且不超过上限",
            f"{what} must be a whole number of fen from 1 to {MAX_AMOUNT}",
            errors=[{"key": what, "message": f"收到 {amount!r}", "message_en": f"got {amount!r}"}],
        )
    return amount


# Built once: every order and payment takes this lock. On the entity, so dealer scoping
# applies to it as to any read.
_LOCK = (
    select(LedgerAccount)
    .where(LedgerAccount.dealer_id == bindparam("dealer"))
    .order_by(LedgerAccount.kind)
    .with_for_update()
    .execution_options(populate_existing=True)
)


async def lock_accounts(
    session: AsyncSession, dealer_id: uuid.UUID, currency: str = "CNY"
) -> Accounts:
    """Lock the dealer's accounts in kind order, creating the missing ones first."""

    async def locked() -> Sequence[LedgerAccount]:
        return (await session.scalars(_LOCK, {"dealer": dealer_id})).all()

    rows = await locked()
    if len(rows) < len(AccountKind):  # only a dealer's first ledger write gets here
        await session.execute(
            insert_ignoring_duplicates(
                session,
                LedgerAccount,
                [
                    {
                        "id": uuid.uuid4(),
                        "dealer_id": dealer_id,
                        "kind": kind,
                        "currency": currency,
                        "balance": 0,
                        "credit_limit": 0,
                        "updated_at": utcnow(),
                    }
                    for kind in AccountKind
                ],
            )
        )
        rows = await locked()
    return {row.kind: row for row in rows}


async def read_accounts(session: AsyncSession, dealer_id: uuid.UUID) -> Accounts:
    """The dealer's accounts without locking (those never used read as absent)."""
    stmt = (
        select(LedgerAccount)
        .where(LedgerAccount.dealer_id == dealer_id)
        .execution_options(populate_existing=True)
    )
    return {row.kind: row for row in (await session.execute(stmt)).scalars()}


def balances_of(
    dealer_id: uuid.UUID, accounts: Accounts, terms: RebateTerms, currency: str = "CNY"
) -> Balances:
    """The dealer's balances from its account rows and its rebate terms."""

    def balance(kind: AccountKind) -> int:
        return accounts[kind].balance if kind in accounts else 0

    credit = accounts.get(AccountKind.CREDIT)
    limit = credit.credit_limit if credit else 0
    credit_available = max(limit + balance(AccountKind.CREDIT), 0)
    prepaid, rebate = balance(AccountKind.PREPAID), balance(AccountKind.REBATE)
    return Balances(
        dealer_id=dealer_id,
        currency=next(iter(accounts.values())).currency if accounts else currency,
        prepaid=prepaid,
        rebate=rebate,
        credit_limit=limit,
        credit_used=max(-balance(AccountKind.CREDIT), 0),
        credit_available=credit_available,
        held=balance(AccountKind.HELD),
        available=prepaid + credit_available,
        rebate_available=max(rebate, 0) if terms.cap_bp > 0 else 0,
        rebate_terms=terms,
    )


def available_in(accounts: Accounts, kind: AccountKind) -> int:
    """What a fund account can still give."""
    account = accounts[kind]
    if kind is AccountKind.CREDIT:
        return account.credit_limit + account.balance
    return account.balance


def post_entry(
    session: AsyncSession,
    accounts: Accounts,
    kind: EntryKind,
    amounts: dict[AccountKind, int],
    *,
    reference: str = "",
    reason: str = "",
    account_kind: AccountKind | None = None,
    amount: int = 0,
    idempotency_key: str | None = None,
    actor_id: uuid.UUID | None = None,
) -> JournalEntry:
    """Write one balanced entry and move the cached balances by the same postings."""
    postings = {k: a for k, a in amounts.items() if a}
    if sum(postings.values()) != 0:
        raise AssertionError(f"unbalanced journal entry: {postings}")
    dealer_id = next(iter(accounts.values())).dealer_id
    now = utcnow()
    entry = JournalEntry(
        id=uuid.uuid4(),
        dealer_id=dealer_id,
        kind=kind,
        reference=reference,
        reason=reason,
        account_kind=account_kind,
        amount=amount,
        idempotency_key=idempotency_key,
        actor_id=actor_id,
        created_at=now,
    )
    add_new(session, entry)
    for account_kind_, value in sorted(postings.items()):
        account = accounts[account_kind_]
        add_new(
            session,
            Posting(
                entry_id=entry.id,
                account_id=account.id,
                dealer_id=dealer_id,
                amount=value,
                created_at=now,
            ),
        )
        add_to(session, account, "balance", value)
    publish_balance_change(session, dealer_id, accounts)
    return entry


async def rebuild_balances(
    session: AsyncSession, dealer_id: uuid.UUID | None = None
) -> dict[uuid.UUID, int]:
    """Every account's balance summed from postings alone (account id -> fen)."""
    stmt = select(Posting.account_id, func.sum(Posting.amount)).group_by(Posting.account_id)
    if dealer_id is not None:
        stmt = stmt.where(Posting.dealer_id == dealer_id)
    return {account_id: int(total or 0) for account_id, total in await session.execute(stmt)}


async def ledger_faults(session: AsyncSession, dealer_id: uuid.UUID | None = None) -> list[str]:
    """What is wrong with the ledger: unbalanced entries, cached balances that differ from
    their postings, fund accounts below their floor. Empty when sound."""
    faults: list[str] = []
    entries = select(Posting.entry_id, func.sum(Posting.amount)).group_by(Posting.entry_id)
    if dealer_id is not None:
        entries = entries.where(Posting.dealer_id == dealer_id)
    faults += [f"entry {e} sums to {t}" for e, t in await session.execute(entries) if t != 0]
    rebuilt: dict[uuid.UUID, int] = defaultdict(int, await rebuild_balances(session, dealer_id))
    accounts = select(LedgerAccount).execution_options(populate_existing=True)
    if dealer_id is not None:
        accounts = accounts.where(LedgerAccount.dealer_id == dealer_id)
    for account in (await session.execute(accounts)).scalars():
        if account.balance != rebuilt[account.id]:
            faults.append(
                f"{account.kind} of {account.dealer_id}: cached {account.balance}"
                f" != {rebuilt[account.id]}"
            )
        floor = 0  # credit may sit below -limit after HQ lowers a limit: not a fault
        if (
            account.kind in (AccountKind.PREPAID, AccountKind.REBATE, AccountKind.HELD)
            and account.balance < floor
        ):
            faults.append(
                f"{account.kind} of {account.dealer_id} below its floor: {account.balance}"
            )
    return faults
