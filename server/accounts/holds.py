"""Order funds: held at submit, captured at shipment, released at cancel (no HTTP, never commits).

    hold_funds(session, dealer_id, reference, amount, sources, rebate_cap_bp=0) -> Hold
    capture_hold(session, reference, amount=None) -> Hold
    release_hold(session, reference) -> Hold

``sources`` is the order in which fund accounts pay (e.g. rebate, prepaid, credit). Rebate
pays at most ``rebate_cap_bp`` basis points of the amount (rounded down). All three lock the
dealer's accounts first (see ``ledger``), so concurrent holds never exceed available funds.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.ledger import Accounts, available_in, check_amount, lock_accounts, post_entry
from server.accounts.models import FUND_SOURCES, AccountKind, EntryKind, FundsHold, HoldStatus
from server.db.repository import get_or_404
from server.dealers.models import Dealer, DealerStatus, DealerTier
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
    status: HoldStatus


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
    accounts: Accounts, amount: int, sources: Sequence[AccountKind], rebate_cap_bp: int
) -> tuple[dict[AccountKind, int], int]:
    """How much each source pays, in order, and what is left unpaid."""
    parts: dict[AccountKind, int] = {}
    remaining = amount
    for kind in sources:
        limit = available_in(accounts, kind)
        if kind is AccountKind.REBATE:
            limit = min(limit, amount * rebate_cap_bp // BASIS_POINTS)
        take = max(min(remaining, limit), 0)
        parts[kind] = take
        remaining -= take
    return parts, remaining


async def hold_funds(
    session: AsyncSession,
    dealer_id: uuid.UUID,
    reference: str,
    amount: int,
    sources: Sequence[AccountKind | str],
    *,
    rebate_cap_bp: int = 0,
) -> Hold:
    """Hold ``amount`` fen from the sources in order, all or nothing (409 ``funds_insufficient``).

    Idempotent by reference: a repeated hold answers the existing one (another amount or
    dealer for the same reference is 409 ``hold_reference_conflict``).
    """
    if not isinstance(reference, str) or not 0 < len(reference) <= 64:
        raise Invalid("reference_invalid", "业务单号不合法", "A reference is 1 to 64 characters")
    check_amount(amount)
    kinds = _check_sources(sources)
    if isinstance(rebate_cap_bp, bool) or not 0 <= rebate_cap_bp <= BASIS_POINTS:
        raise Invalid(
            "rebate_cap_invalid", "返利抵扣上限不合法", "The rebate cap is 0..10000 basis points"
        )
    dealer = await get_or_404(session, Dealer, dealer_id, "dealer")
    accounts = await lock_accounts(session, dealer_id)
    existing = await _find(session, reference)
    if existing is not None:
        if existing.dealer_id != dealer_id or existing.amount != amount:
            raise Conflict(
                "hold_reference_conflict",
                "该单号已冻结了不同的金额",
                "This reference already holds a different amount",
            )
        return _view(existing)
    if dealer.status is not DealerStatus.ACTIVE:
        raise Conflict("dealer_inactive", "经销商已停用", "The dealer is not active")
    if AccountKind.CREDIT in kinds:
        tier = await session.get(DealerTier, dealer.tier_code)
        if tier is not None and tier.requires_prepayment:
            raise Invalid(
                "credit_not_allowed",
                "该经销商等级须先款后货，不能使用信用额度",
                "This dealer's tier must prepay: credit cannot pay",
            )
    parts, short = split_amount(accounts, amount, kinds, rebate_cap_bp)
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
    try:
        async with session.begin_nested():
            session.add(hold)
            await session.flush()
    except IntegrityError as exc:  # the reference is another dealer's (invisible to this session)
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
    return _view(hold)


async def _locked_hold(session: AsyncSession, reference: str) -> tuple[FundsHold, Accounts]:
    hold = await _find(session, reference)
    if hold is None:
        raise NotFound("hold_not_found", "冻结记录不存在", "No funds hold for this reference")
    accounts = await lock_accounts(session, hold.dealer_id)
    hold = await _find(session, reference, lock=True)
    assert hold is not None
    return hold, accounts


def _held_by_source(hold: FundsHold) -> dict[AccountKind, int]:
    return {
        AccountKind.PREPAID: hold.prepaid,
        AccountKind.CREDIT: hold.credit,
        AccountKind.REBATE: hold.rebate,
    }


async def capture_hold(session: AsyncSession, reference: str, amount: int | None = None) -> Hold:
    """Take the held funds at shipment (all, or ``amount`` with the rest released); idempotent."""
    hold, accounts = await _locked_hold(session, reference)
    if hold.status is HoldStatus.CAPTURED:
        return _view(hold)
    if hold.status is HoldStatus.RELEASED:
        raise Conflict(
            "hold_released", "冻结已释放，不能扣款", "The hold was released; nothing to capture"
        )
    take = hold.amount if amount is None else check_amount(amount)
    if take > hold.amount:
        raise Invalid("capture_exceeds_hold", "扣款金额超过冻结金额", "Capturing more than is held")
    held = _held_by_source(hold)
    order = [AccountKind(s) for s in hold.sources.split(",")]
    # Re-split the captured amount over what each source holds, keeping the rebate cap.
    captured: dict[AccountKind, int] = {}
    remaining = take
    for kind in order:
        limit = held[kind]
        if kind is AccountKind.REBATE:
            limit = min(limit, take * hold.rebate_cap_bp // BASIS_POINTS)
        captured[kind] = min(remaining, limit)
        remaining -= captured[kind]
    assert remaining == 0, "a hold always covers any smaller capture"
    back = {k: held[k] - captured.get(k, 0) for k in held}
    post_entry(
        session,
        accounts,
        EntryKind.CAPTURE,
        {AccountKind.HELD: -hold.amount, AccountKind.SALES: take, **back},
        reference=reference,
        account_kind=AccountKind.SALES,
        amount=take,
    )
    hold.captured = take
    hold.status = HoldStatus.CAPTURED
    await session.flush()
    return _view(hold)


async def release_hold(session: AsyncSession, reference: str) -> Hold:
    """Give the held funds back to their sources (cancel); idempotent."""
    hold, accounts = await _locked_hold(session, reference)
    if hold.status is HoldStatus.RELEASED:
        return _view(hold)
    if hold.status is HoldStatus.CAPTURED:
        raise Conflict(
            "hold_captured", "已扣款，不能释放", "The hold was captured; nothing to release"
        )
    post_entry(
        session,
        accounts,
        EntryKind.RELEASE,
        {AccountKind.HELD: -hold.amount, **_held_by_source(hold)},
        reference=reference,
        account_kind=AccountKind.HELD,
        amount=-hold.amount,
    )
    hold.status = HoldStatus.RELEASED
    await session.flush()
    return _view(hold)
