"""Budgets consumed atomically and released exactly once.

``consume_budget`` first records the consumption under its idempotency key (a retry finds it
and consumes nothing more), then moves the promotion's row and, when the promotion caps each
dealer, the dealer's row with conditional UPDATEs: ``used + x <= limit`` is checked by the
database on the locked row, so any number of concurrent consumers can never overrun a limit.
Everything happens in a SAVEPOINT: when a limit is reached nothing of the attempt remains.

``take_budget`` and ``give_back_budget`` also say whether the promotion's overall budget was
spent by the consumption (nothing left: a count limit reached, or an amount limit reached,
so no discount of even one fen fits) or reopened by the release; ``overall_budget_left`` is
the same test in SQL. Orders use this to take a spent promotion out of cart pricing (see
``server.promotions.order_budgets``); per-dealer limits are not part of it.
"""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.dialect import insert_ignoring_duplicates
from server.db.errors import DuplicateKey, duplicate_keys_raised
from server.errors import Conflict
from server.promotions.models import (
    BudgetConsumption,
    ConsumptionStatus,
    Promotion,
    PromotionBudget,
)
from server.promotions.schemas import BudgetStatusOut


class BudgetExhausted(Conflict):
    default_code = "budget_exhausted"
    default_zh = "促销预算已用完"
    default_en = "The promotion's budget is exhausted"


class Taken(msgspec.Struct, frozen=True, kw_only=True):
    """What one consumption did: ``consumed`` (False: the key had already consumed) and
    ``spent`` (it left the promotion's overall budget with nothing)."""

    consumed: bool
    spent: bool = False


class GivenBack(msgspec.Struct, frozen=True, kw_only=True):
    """What one release did: ``released`` (False: nothing to give back) and ``reopened``
    (the promotion's overall budget was spent and no longer is)."""

    released: bool
    reopened: bool = False


def _spent(
    used_amount: int, used_count: int, limit_amount: int | None, limit_count: int | None
) -> bool:
    """Nothing left: the count limit reached, or the amount limit reached."""
    return (limit_count is not None and used_count >= limit_count) or (
        limit_amount is not None and used_amount >= limit_amount
    )


def overall_budget_left() -> ColumnElement[bool]:
    """``not _spent`` for ``Promotion`` outer-joined to its overall ``PromotionBudget`` row
    (no row yet: nothing used; the limits are the promotion's, which the row copies)."""
    p, b = Promotion, PromotionBudget
    return and_(
        or_(p.budget_count.is_(None), func.coalesce(b.used_count, 0) < p.budget_count),
        or_(p.budget_amount.is_(None), func.coalesce(b.used_amount, 0) < p.budget_amount),
    )


async def _ensure_rows(session: AsyncSession, p: Promotion, dealer_id: uuid.UUID) -> None:
    rows = [
        {
            "id": uuid.uuid4(),
            "promotion_id": p.id,
            "dealer_key": "",
            "limit_amount": p.budget_amount,
            "limit_count": p.budget_count,
            "used_amount": 0,
            "used_count": 0,
            "updated_at": utcnow(),
        }
    ]
    if p.dealer_budget_amount is not None or p.dealer_budget_count is not None:
        rows.append(
            {
                **rows[0],
                "id": uuid.uuid4(),
                "dealer_key": str(dealer_id),
                "limit_amount": p.dealer_budget_amount,
                "limit_count": p.dealer_budget_count,
            }
        )
    await session.execute(insert_ignoring_duplicates(session, PromotionBudget, rows))


def _take(promotion_id: uuid.UUID, dealer_key: str, amount: int, count: int):  # type: ignore[no-untyped-def]
    b = PromotionBudget
    return (
        update(b)
        .where(
            b.promotion_id == promotion_id,
            b.dealer_key == dealer_key,
            (b.limit_amount.is_(None)) | (b.used_amount + amount <= b.limit_amount),
            (b.limit_count.is_(None)) | (b.used_count + count <= b.limit_count),
        )
        .values(
            used_amount=b.used_amount + amount, used_count=b.used_count + count, updated_at=utcnow()
        )
        .returning(b.used_amount, b.used_count, b.limit_amount, b.limit_count)
        .execution_options(synchronize_session=False)
    )


async def consume_budget(
    session: AsyncSession,
    promotion: Promotion,
    dealer_id: uuid.UUID,
    *,
    amount: int,
    count: int = 1,
    key: str,
) -> bool:
    """Take ``amount`` fen and ``count`` uses; False when ``key`` already consumed.

    Raises ``BudgetExhausted`` (nothing taken) when the promotion's or the dealer's limit
    would be exceeded.
    """
    taken = await take_budget(session, promotion, dealer_id, amount=amount, count=count, key=key)
    return taken.consumed


async def take_budget(
    session: AsyncSession,
    promotion: Promotion,
    dealer_id: uuid.UUID,
    *,
    amount: int,
    count: int = 1,
    key: str,
) -> Taken:
    """``consume_budget``, also saying whether it spent the promotion's overall budget."""
    existing = (
        await session.execute(select(BudgetConsumption.id).where(BudgetConsumption.key == key))
    ).scalar_one_or_none()
    if existing is not None:
        return Taken(consumed=False)
    await _ensure_rows(session, promotion, dealer_id)
    dealer_capped = (
        promotion.dealer_budget_amount is not None or promotion.dealer_budget_count is not None
    )
    spent = False
    try:
        with duplicate_keys_raised():
            async with session.begin_nested():
                session.add(
                    BudgetConsumption(
                        id=uuid.uuid4(),
                        key=key,
                        promotion_id=promotion.id,
                        dealer_id=dealer_id,
                        amount=amount,
                        count=count,
                        status=ConsumptionStatus.CONSUMED,
                    )
                )
                await session.flush()
                for dealer_key in ("", str(dealer_id)) if dealer_capped else ("",):
                    row = (
                        await session.execute(_take(promotion.id, dealer_key, amount, count))
                    ).first()
                    if row is None:
                        raise BudgetExhausted(
                            scope="dealer" if dealer_key else "promotion",
                            promotion=promotion.code,
                        )
                    if not dealer_key:
                        spent = _spent(*row)
    except DuplicateKey:  # a concurrent retry with the same key got there first
        return Taken(consumed=False)
    return Taken(consumed=True, spent=spent)


async def release_budget(session: AsyncSession, key: str) -> bool:
    """Give back what ``key`` consumed (once); False when there is nothing to release."""
    return (await give_back_budget(session, key)).released


async def give_back_budget(session: AsyncSession, key: str) -> GivenBack:
    """``release_budget``, also saying whether it reopened a spent overall budget."""
    c = (
        await session.execute(
            select(BudgetConsumption).where(BudgetConsumption.key == key).with_for_update()
        )
    ).scalar_one_or_none()
    if c is None:
        return GivenBack(released=False)
    marked = await session.execute(
        update(BudgetConsumption)
        .where(BudgetConsumption.id == c.id, BudgetConsumption.status == ConsumptionStatus.CONSUMED)
        .values(status=ConsumptionStatus.RELEASED, released_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        return GivenBack(released=False)
    b = PromotionBudget
    rows = await session.execute(
        update(b)
        .where(b.promotion_id == c.promotion_id, b.dealer_key.in_(["", str(c.dealer_id)]))
        .values(used_amount=b.used_amount - c.amount, used_count=b.used_count - c.count)
        .returning(b.dealer_key, b.used_amount, b.used_count, b.limit_amount, b.limit_count)
        .execution_options(synchronize_session=False)
    )
    reopened = False
    for dealer_key, used_amount, used_count, limit_amount, limit_count in rows:
        if not dealer_key:
            before = _spent(used_amount + c.amount, used_count + c.count, limit_amount, limit_count)
            reopened = before and not _spent(used_amount, used_count, limit_amount, limit_count)
    return GivenBack(released=True, reopened=reopened)


async def budget_status(session: AsyncSession, promotion: Promotion) -> list[BudgetStatusOut]:
    """The promotion's budget and every per-dealer budget in use (promotion's first)."""
    rows = (
        (
            await session.execute(
                select(PromotionBudget)
                .where(PromotionBudget.promotion_id == promotion.id)
                .order_by(PromotionBudget.dealer_key)
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    out = [
        BudgetStatusOut(
            promotion_id=promotion.id,
            dealer_id=uuid.UUID(r.dealer_key) if r.dealer_key else None,
            limit_amount=r.limit_amount,
            limit_count=r.limit_count,
            used_amount=r.used_amount,
            used_count=r.used_count,
            remaining_amount=None if r.limit_amount is None else r.limit_amount - r.used_amount,
            remaining_count=None if r.limit_count is None else r.limit_count - r.used_count,
        )
        for r in rows
    ]
    if not out or out[0].dealer_id is not None:
        out.insert(
            0,
            BudgetStatusOut(
                promotion_id=promotion.id,
                dealer_id=None,
                limit_amount=promotion.budget_amount,
                limit_count=promotion.budget_count,
                used_amount=0,
                used_count=0,
                remaining_amount=promotion.budget_amount,
                remaining_count=promotion.budget_count,
            ),
        )
    return out
