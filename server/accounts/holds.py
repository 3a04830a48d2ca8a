"""Order funds: held at submit, captured at shipment, released at cancel (no HTTP, never commits).

    hold_funds(session, dealer_id, reference, amount, sources, rebate_cap=None) -> Hold
    capture_hold(session, reference, amount=None, final=True) -> Hold
    release_hold(session, reference) -> Hold

``sources`` is the order in which fund accounts pay (e.g. rebate, prepaid, credit). Rebate
pays at most ``rebate_cap`` fen (order placement computes it from the tier's share of the
eligible goods) or, without it, ``rebate_cap_bp`` basis points of the amount (rounded down).
Each capture takes rebate in proportion to the hold (``rebate * captured / amount``, rounded
down, the last capture taking the rest), so a partial shipment spends its share of rebate and
the rebate share of what was captured never exceeds the hold's. All three lock the dealer's
accounts first (see ``ledger``), so concurrent holds never exceed available funds.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.ledger import Accounts, available_in, check_amount, lock_accounts, post_entry
from server.accounts.models import FUND_SOURCES, AccountKind, EntryKind, FundsHold, HoldStatus
from server.accounts.notices import note_credit_running_low
from server.db.batch import add_new
from server.db.errors import DuplicateKey, duplicate_keys_raised
from server.dealers import DealerStatus, get_dealer, tier_requires_prepayment
from server.errors import Conflict, Invalid, NotFound

BASIS_POINTS = 10_000


class Hold(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    dealer_id: uuid.UUID
    reference: str
    amount: int
    prepaid: int
    credit: int
    rebate: int
    captured: int
    released: int
    status: HoldStatus

    @property
    def open_amount(self) -> int:
        """Still held: neither captured nor released."""
        return self.amount - self.captured - self.released


def _view(h: FundsHold) -> Hold:
    return Hold(
        id=h.id,
        dealer_id=h.dealer_id,
        reference=h.reference,
        amount=h.amount,
        prepaid=h.prepaid,
        credit=h.credit,
        rebate=h.rebate,
        captured=h.captured,
        released=h.released,
        status=h.status,
    )


async def _find(session: AsyncSession, reference: str, *, lock: bool = False) -> FundsHold | None:
    stmt = select(FundsHold).where(FundsHold.reference == reference)
    if lock:
        stmt = stmt.with_for_update()
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def get_hold(
    session: AsyncSession, reference: str, dealer_id: uuid.UUID | None = None
) -> Hold:
    """One hold by order reference (404 ``hold_not_found``, also for another dealer's)."""
    hold = await _find(session, reference)
    if hold is None or (dealer_id is not None and hold.dealer_id != dealer_id):
        raise NotFound("hold_not_found", "冻结记录不存在", "No funds hold for this reference")
    return _view(hold)


def _check_sources(sources: Sequence[AccountKind | str]) -> list[AccountKind]:
    try:
        kinds = [AccountKind(s) for s in sources]
    except ValueError as exc:
        raise Invalid(
            "sources_invalid", "资金来源不合法", "Sources are prepaid, credit and rebate"
        ) from exc
    if not kinds or len(set(kinds)) != len(kinds) or any(k not in FUND_SOURCES for k in kinds):
        raise Invalid(
            "sources_invalid", "资金来源不合法", "Sources are prepaid, credit and rebate, each once"
        )
    return kinds


def split_amount(
    accounts: Accounts, amount: int, sources: Sequence[AccountKind], rebate_cap: int
) -> tuple[dict[AccountKind, int], int]:
    """How much each source pays, in order (rebate at most ``rebate_cap`` fen), and what is
    left unpaid."""
    parts: dict[AccountKind, int] = {}
    remaining = amount
    for kind in sources:
        limit = available_in(accounts, kind)
        if kind is AccountKind.REBATE:
            limit = min(limit, rebate_cap)
        take = max(min(remaining, limit), 0)
        parts[kind] = take
        remaining -= take
    return parts, remaining


def _rebate_cap_of(amount: int, cap_bp: int, cap: int | None) -> int:
    """The most rebate may pay of ``amount`` (fen): ``cap`` when given, else ``cap_bp`` of it."""
    if isinstance(cap_bp, bool) or not 0 <= cap_bp <= BASIS_POINTS:
        raise Invalid(
            "rebate_cap_invalid", "返利抵扣上限不合法", "The rebate cap is 0..10000 basis points"
        )
    if cap is None:
        return amount * cap_bp // BASIS_POINTS
    if isinstance(cap, bool) or not 0 <= cap <= amount:
        raise Invalid(
            "rebate_cap_invalid", "返利抵扣上限不合法", "The rebate cap is 0 up to the amount"
        )
    return cap


async def _check_dealer(
    session: AsyncSession, status: DealerStatus, tier_code: str, kinds: list[AccountKind]
) -> None:
    if status is not DealerStatus.ACTIVE:
        raise Conflict("dealer_inactive", "经销商已停用", "The dealer is not active")
    if AccountKind.CREDIT in kinds and await tier_requires_prepayment(session, tier_code):
        raise Invalid(
            "credit_not_allowed",
            "该经销商等级须先款后货，不能使用信用额度",
            "This dealer's tier must prepay: credit cannot pay",
        )


async def hold_funds(
    session: AsyncSession,
    dealer_id: uuid.UUID,
    reference: str,
    amount: int,
    sources: Sequence[AccountKind | str],
    *,
    rebate_cap_bp: int = 0,
    rebate_cap: int | None = None,
    rebate_exact: bool = False,
    dealer_checked: bool = False,
    new_reference: bool = False,
) -> Hold:
    """Hold ``amount`` fen from the sources in order, all or nothing (409 ``funds_insufficient``).

    Rebate pays at most ``rebate_cap`` fen when given (0..amount), else ``rebate_cap_bp`` of
    the amount; with ``rebate_exact`` (an amount the dealer chose) it must pay the whole cap
    or nothing is held (409 ``rebate_insufficient``).

    Idempotent by reference: a repeated hold answers the existing one (another amount or
    dealer for the same reference is 409 ``hold_reference_conflict``).

    Order placement has already checked what the first two steps re-read: ``dealer_checked``
    (the dealer is active and its tier allows these sources) skips loading the dealer, and
    ``new_reference`` (the reference is the id of the order being created) skips the replay
    lookup and the savepoint; a twin then fails on the unique reference when the caller's
    transaction flushes.

    Why long: one all-or-nothing transaction script (replay check, sources in order, the hold
    row, its journal entry) under one set of row locks; split up, the locks would no longer sit
    beside what they protect.
    """
    if not isinstance(reference, str) or not 0 < len(reference) <= 64:
        raise Invalid("reference_invalid", "业务单号不合法", "A reference is 1 to 64 characters")
    check_amount(amount)
    kinds = _check_sources(sources)
    cap = _rebate_cap_of(amount, rebate_cap_bp, rebate_cap)
    dealer = None if dealer_checked else await get_dealer(session, dealer_id)
    accounts = await lock_accounts(session, dealer_id)
    existing = None if new_reference else await _find(session, reference)
    if existing is not None:
        if existing.dealer_id != dealer_id or existing.amount != amount:
            raise Conflict(
                "hold_reference_conflict",
                "该单号已冻结了不同的金额",
                "This reference already holds a different amount",
            )
        return _view(existing)
    if dealer is not None:
        await _check_dealer(session, dealer.status, dealer.tier_code, kinds)
    credit_before = available_in(accounts, AccountKind.CREDIT)
    parts, short = split_amount(accounts, amount, kinds, cap)
    if rebate_exact and parts.get(AccountKind.REBATE, 0) < cap:
        raise Conflict(
            "rebate_insufficient",
            "返利余额不足以抵扣所选金额",
            "The rebate balance does not cover the rebate chosen",
            rebate=cap,
            available=available_in(accounts, AccountKind.REBATE),
        )
    if short:
        raise Conflict(
            "funds_insufficient",
            "可用资金不足",
            "Not enough available funds for this hold",
            amount=amount,
            available=amount - short,
            shortBy=short,
        )
    hold = FundsHold(
        id=uuid.uuid4(),
        dealer_id=dealer_id,
        reference=reference,
        amount=amount,
        prepaid=parts.get(AccountKind.PREPAID, 0),
        credit=parts.get(AccountKind.CREDIT, 0),
        rebate=parts.get(AccountKind.REBATE, 0),
        sources=",".join(kinds),
        rebate_cap_bp=rebate_cap_bp,
    )
    if new_reference:
        add_new(session, hold)
    else:
        try:
            with duplicate_keys_raised():
                async with session.begin_nested():
                    session.add(hold)
                    await session.flush()
        except DuplicateKey as exc:  # the reference is another dealer's (invisible here)
            raise Conflict(
                "hold_reference_conflict", "该单号已被使用", "This reference is already in use"
            ) from exc
    post_entry(
        session,
        accounts,
        EntryKind.HOLD,
        {**{k: -v for k, v in parts.items()}, AccountKind.HELD: amount},
        reference=reference,
        account_kind=AccountKind.HELD,
        amount=amount,
    )
    note_credit_running_low(
        session,
        dealer_id,
        reference,
        limit=accounts[AccountKind.CREDIT].credit_limit,
        available_before=credit_before,
        taken=hold.credit,
    )
    return _view(hold)


async def locked_hold(session: AsyncSession, reference: str) -> tuple[FundsHold, Accounts]:
    """The hold and its dealer's accounts, locked accounts first (404 ``hold_not_found``)."""
    hold = await _find(session, reference)
    if hold is None:
        raise NotFound("hold_not_found", "冻结记录不存在", "No funds hold for this reference")
    accounts = await lock_accounts(session, hold.dealer_id)
    hold = await _find(session, reference, lock=True)
    assert hold is not None
    return hold, accounts


def _open_by_source(hold: FundsHold) -> dict[AccountKind, int]:
    """What each source still holds (held, minus captured; nothing is left once closed)."""
    if hold.status is not HoldStatus.HELD:
        return {kind: 0 for kind in FUND_SOURCES}
    return {
        AccountKind.PREPAID: hold.prepaid - hold.captured_prepaid,
        AccountKind.CREDIT: hold.credit - hold.captured_credit,
        AccountKind.REBATE: hold.rebate - hold.captured_rebate,
    }


def _capture_split(hold: FundsHold, take: int) -> dict[AccountKind, int]:
    """Which sources pay a capture of ``take``.

    Rebate pays its share of everything captured so far (``rebate * captured / amount``,
    rounded down: never more of what was captured than the hold's own share, so never above
    its cap); the other sources follow in the hold's order and cover the rest.
    """
    open_ = _open_by_source(hold)
    total_after = hold.captured + take
    rebate_due = hold.rebate * total_after // hold.amount
    parts = {kind: 0 for kind in FUND_SOURCES}
    parts[AccountKind.REBATE] = min(max(rebate_due - hold.captured_rebate, 0), take)
    remaining = take - parts[AccountKind.REBATE]
    for kind in (AccountKind(s) for s in hold.sources.split(",")):
        if kind is AccountKind.REBATE:
            continue
        parts[kind] = min(remaining, open_[kind])
        remaining -= parts[kind]
    if remaining:  # only for holds partly captured under the earlier rule (rebate first)
        extra = min(remaining, open_[AccountKind.REBATE] - parts[AccountKind.REBATE])
        parts[AccountKind.REBATE] += extra
        remaining -= extra
    assert remaining == 0, "a hold always covers any capture within its open amount"
    return parts


def _close(hold: FundsHold) -> None:
    hold.status = HoldStatus.CAPTURED if hold.captured else HoldStatus.RELEASED


async def capture_hold(
    session: AsyncSession, reference: str, amount: int | None = None, *, final: bool = True
) -> Hold:
    """Take held funds at shipment: ``amount`` (default: all still held) goes to sales.

    ``final`` (the default) closes the hold and gives whatever is still held back to its
    sources; ``final=False`` leaves the rest held for later shipments. Capturing a closed
    hold again without an amount answers it unchanged (idempotent); a released one is 409
    ``hold_released``.
    """
    hold, accounts = await locked_hold(session, reference)
    if hold.status is not HoldStatus.HELD:
        if hold.status is HoldStatus.CAPTURED and amount is None:
            return _view(hold)
        raise Conflict(
            "hold_released" if hold.status is HoldStatus.RELEASED else "hold_closed",
            "冻结已结束，不能再扣款",
            "The hold is closed; nothing more to capture",
        )
    open_amount = hold.amount - hold.captured - hold.released
    take = open_amount if amount is None else check_amount(amount)
    if take > open_amount:
        raise Invalid("capture_exceeds_hold", "扣款金额超过冻结金额", "Capturing more than is held")
    parts = _capture_split(hold, take)
    hold.captured_prepaid += parts[AccountKind.PREPAID]
    hold.captured_credit += parts[AccountKind.CREDIT]
    hold.captured_rebate += parts[AccountKind.REBATE]
    hold.captured += take
    back: dict[AccountKind, int] = {}
    if final or hold.captured == hold.amount:
        back = _open_by_source(hold)
        hold.released += sum(back.values())
        _close(hold)
    post_entry(
        session,
        accounts,
        EntryKind.CAPTURE,
        {AccountKind.HELD: -(take + sum(back.values())), AccountKind.SALES: take, **back},
        reference=reference,
        account_kind=AccountKind.SALES,
        amount=take,
    )
    await session.flush()
    return _view(hold)


async def release_hold(session: AsyncSession, reference: str) -> Hold:
    """Give what is still held back to its sources and close the hold (cancel); idempotent.

    A hold closed by a capture is 409 ``hold_captured``.
    """
    hold, accounts = await locked_hold(session, reference)
    if hold.status is not HoldStatus.HELD:
        if hold.status is HoldStatus.RELEASED:
            return _view(hold)
        raise Conflict(
            "hold_captured", "已扣款，不能释放", "The hold was captured; nothing to release"
        )
    back = _open_by_source(hold)
    total = sum(back.values())
    if total:
        post_entry(
            session,
            accounts,
            EntryKind.RELEASE,
            {AccountKind.HELD: -total, **back},
            reference=reference,
            account_kind=AccountKind.HELD,
            amount=-total,
        )
    hold.released += total
    _close(hold)
    await session.flush()
    return _view(hold)
