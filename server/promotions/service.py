"""HQ's promotion lifecycle (draft -> published -> archived) and the pricing steps it feeds.

Order of application (the pipeline's, see ``server.pricing.steps``): all line promotions
(折扣, 每件立减, 特价) run first, then all order promotions (满减, 阶梯满减, 买赠, fixed
bundles); within each phase by ``priority`` descending, then promotion code. Exclusive
groups (first applicable wins) and the stackable flag apply as documented there. Rebate
accrual, display fees and sell-out redemptions are not price steps: rebates accrue on
orders (``server.promotions.rebates.accrue_rebates``), the claimable ones are paid through claims.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.audit import record
from server.catalog import bump_revision, existing_sku_codes, sku_codes_in_categories
from server.db.base import utcnow
from server.db.repository import flush_or_conflict, get_or_404
from server.errors import Conflict, Invalid
from server.identity.principal import Principal
from server.pricing import (
    BuyXGetY,
    DealerFacts,
    Eligibility,
    FixedAmountOffLine,
    LineStep,
    OrderStep,
    PercentOffLine,
    SpecialPriceLine,
    ThresholdDiscount,
    ThresholdTier,
    TieredThreshold,
)
from server.promotions.budgets import overall_budget_left
from server.promotions.models import Promotion, PromotionBudget, PromotionStatus
from server.promotions.schemas import (
    CLAIMABLE_KINDS,
    AmountOff,
    BudgetIn,
    BuyGet,
    EligibilityIn,
    Mechanic,
    PercentOff,
    PromotionIn,
    PromotionOut,
    SpecialPrice,
    Threshold,
    Tiered,
)
from server.trail import note_decision
from sync import publish

Executor = AsyncConnection | AsyncSession


class PromotionSteps(msgspec.Struct, frozen=True, kw_only=True):
    """Live promotions as pipeline steps; ``codes`` names them all, ``budgeted`` those with
    any budget (orders consume those, see ``server.promotions.order_budgets``)."""

    line_steps: tuple[LineStep, ...] = ()
    order_steps: tuple[OrderStep, ...] = ()
    codes: frozenset[str] = frozenset()
    budgeted: frozenset[str] = frozenset()


def has_budget(p: Promotion) -> bool:
    """Whether any limit (amount or count, whole or per dealer) is set."""
    limits = (p.budget_amount, p.budget_count, p.dealer_budget_amount, p.dealer_budget_count)
    return any(limit is not None for limit in limits)


def window(
    starts_on: date | None, ends_on: date | None, timezone: str
) -> tuple[datetime | None, datetime | None]:
    """Inclusive brand-time-zone days as a half-open UTC window."""
    for day in (starts_on, ends_on):
        # Year 1 or 9999 would overflow once shifted to UTC: refuse, never 500.
        if day is not None and not date(2000, 1, 1) <= day <= date(2099, 12, 31):
            raise Invalid(
                "promotion_window_invalid",
                "促销日期超出范围（2000–2099 年）",
                "Promotion dates must fall in 2000-2099",
            )
    zone = ZoneInfo(timezone)
    starts_at = datetime.combine(starts_on, time(0), zone) if starts_on else None
    ends_at = datetime.combine(ends_on + timedelta(days=1), time(0), zone) if ends_on else None
    return (
        starts_at.astimezone(UTC) if starts_at else None,
        ends_at.astimezone(UTC) if ends_at else None,
    )


def mechanic_of(p: Promotion) -> Mechanic:
    return msgspec.convert(p.mechanic, Mechanic)  # type: ignore[arg-type]


def is_claimable(p: Promotion) -> bool:
    return p.kind in CLAIMABLE_KINDS


def promotion_out(p: Promotion) -> PromotionOut:
    return PromotionOut(
        id=p.id,
        code=p.code,
        name=p.name,
        kind=p.kind,
        mechanic=mechanic_of(p),
        currency=p.currency,
        status=str(p.status),
        version=p.version,
        eligibility=EligibilityIn(
            tiers=list(p.tiers),
            regions=list(p.regions),
            dealer_ids=[uuid.UUID(d) for d in p.dealer_ids],
            segments=list(p.segments),
            skus=list(p.skus),
            categories=list(p.categories),
        ),
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        starts_at=p.starts_at,
        ends_at=p.ends_at,
        priority=p.priority,
        exclusive_group=p.exclusive_group,
        stackable=p.stackable,
        budget=BudgetIn(
            amount=p.budget_amount,
            count=p.budget_count,
            dealer_amount=p.dealer_budget_amount,
            dealer_count=p.dealer_budget_count,
        ),
        pilot_share_bp=p.pilot_share_bp,
        published_at=p.published_at,
        claimable=is_claimable(p),
    )


async def _validate(session: AsyncSession, body: PromotionIn) -> None:
    errors: list[dict[str, Any]] = []
    if body.starts_on and body.ends_on and body.ends_on < body.starts_on:
        errors.append(
            {
                "key": "endsOn",
                "code": "window_invalid",
                "message": "结束日期早于开始日期",
                "message_en": "ends before it starts",
            }
        )
    mechanic = body.mechanic
    wanted = set(body.eligibility.skus)
    if isinstance(mechanic, BuyGet):
        wanted.add(mechanic.gift_sku)
    found = await existing_sku_codes(session, wanted)
    errors += [
        {
            "key": "skus",
            "code": "sku_unknown",
            "sku": c,
            "message": f"商品 {c} 不存在",
            "message_en": f"unknown SKU {c}",
        }
        for c in sorted(wanted - found)
    ]
    needs_products = isinstance(mechanic, PercentOff | AmountOff | SpecialPrice | BuyGet)
    if needs_products and not body.eligibility.skus and not body.eligibility.categories:
        errors.append(
            {
                "key": "eligibility",
                "code": "products_required",
                "message": "须指定商品或品类",
                "message_en": "name SKUs or categories",
            }
        )
    if errors:
        raise Invalid("promotion_invalid", "促销政策定义无效", "Invalid promotion", errors=errors)


def _assign(p: Promotion, body: PromotionIn, timezone: str) -> None:
    p.name = body.name
    p.kind = str(body.mechanic.__struct_config__.tag)
    p.mechanic = msgspec.to_builtins(body.mechanic)
    p.currency = body.currency
    e = body.eligibility
    p.tiers, p.regions, p.segments = list(e.tiers), list(e.regions), list(e.segments)
    p.dealer_ids = [str(d) for d in e.dealer_ids]
    p.skus, p.categories = list(e.skus), list(e.categories)
    p.starts_on, p.ends_on = body.starts_on, body.ends_on
    p.starts_at, p.ends_at = window(body.starts_on, body.ends_on, timezone)
    p.priority, p.exclusive_group, p.stackable = body.priority, body.exclusive_group, body.stackable
    p.budget_amount, p.budget_count = body.budget.amount, body.budget.count
    p.dealer_budget_amount, p.dealer_budget_count = (
        body.budget.dealer_amount,
        body.budget.dealer_count,
    )
    p.pilot_share_bp = body.pilot_share_bp


async def create_promotion(
    session: AsyncSession, actor: Principal, body: PromotionIn, timezone: str
) -> Promotion:
    """A new draft promotion."""
    await _validate(session, body)
    p = Promotion(id=uuid.uuid4(), code=body.code, version=1, status=PromotionStatus.DRAFT)
    p.created_by = actor.user_id
    _assign(p, body, timezone)
    session.add(p)
    await flush_or_conflict(session, "promotion_exists")
    record(session, actor, "promotion.created", "promotion", p.id, {"code": p.code, "kind": p.kind})
    return p


async def update_promotion(
    session: AsyncSession,
    actor: Principal,
    promotion_id: uuid.UUID,
    body: PromotionIn,
    timezone: str,
) -> Promotion:
    """Replace a draft's definition (published promotions are archived and re-created)."""
    p = await get_or_404(session, Promotion, promotion_id, "promotion")
    if p.status is not PromotionStatus.DRAFT:
        raise Conflict("promotion_not_draft", "只能修改草稿状态的促销", "Only drafts can be edited")
    if body.code != p.code:
        raise Invalid("promotion_code_fixed", "促销编码不可修改", "The code cannot change")
    await _validate(session, body)
    budget_before = _budget(p)
    _assign(p, body, timezone)
    p.version += 1
    record(session, actor, "promotion.updated", "promotion", p.id, {"version": p.version})
    if _budget(p) != budget_before:
        _note(session, actor, p, "budget_changed")
    return p


def _budget(p: Promotion) -> tuple[int | None, ...]:
    return (p.budget_amount, p.budget_count, p.dealer_budget_amount, p.dealer_budget_count)


def _note(session: AsyncSession, actor: Principal, p: Promotion, outcome: str) -> None:
    """The decision in the approval trail; the state hashed is the promotion as nodes receive
    it (``PromotionOut``: definition, eligibility, window, budget, status, version)."""
    state = msgspec.to_builtins(promotion_out(p))
    note_decision(session, actor, "promotion", p.id, outcome, state)


async def get_promotion(session: AsyncSession, promotion_id: uuid.UUID) -> Promotion:
    return await get_or_404(session, Promotion, promotion_id, "promotion")


async def list_promotions(
    session: AsyncSession, status: PromotionStatus | None = None
) -> Sequence[Promotion]:
    stmt = select(Promotion).order_by(Promotion.code)
    if status is not None:
        stmt = stmt.where(Promotion.status == status)
    return (await session.execute(stmt)).scalars().all()


def sync_scopes(p: Promotion) -> list[str]:
    """The sync scopes whose nodes must receive this promotion."""
    if p.dealer_ids:
        return [f"dealer:{d}" for d in sorted(p.dealer_ids)]
    if p.segments:
        return [f"promo:{s}" for s in sorted(p.segments)]
    if p.tiers:
        return [f"promo:tier:{t}" for t in sorted(p.tiers)]
    return ["promo:all"]


async def _publish(session: AsyncSession, p: Promotion, op: Literal["upsert", "delete"]) -> None:
    payload = msgspec.to_builtins(promotion_out(p))
    for scope in sync_scopes(p):
        await publish(session, scope, "promotion", p.code, op, payload)


async def publish_promotion(
    session: AsyncSession, actor: Principal, promotion_id: uuid.UUID
) -> Promotion:
    """Make a draft live: priced in carts, claimable, and sent to every channel node."""
    p = await get_or_404(session, Promotion, promotion_id, "promotion")
    if p.status is PromotionStatus.PUBLISHED:
        return p
    if p.status is not PromotionStatus.DRAFT:
        raise Conflict("promotion_archived", "促销已下线", "The promotion is archived")
    p.status = PromotionStatus.PUBLISHED
    p.published_at = utcnow()
    await session.flush()
    await bump_revision(session)
    record(session, actor, "promotion.published", "promotion", p.id, {"version": p.version})
    _note(session, actor, p, "published")
    await _publish(session, p, "upsert")
    return p


async def archive_promotion(
    session: AsyncSession, actor: Principal, promotion_id: uuid.UUID
) -> Promotion:
    """Take a promotion off: no longer priced or claimable; nodes receive a delete."""
    p = await get_or_404(session, Promotion, promotion_id, "promotion")
    if p.status is PromotionStatus.ARCHIVED:
        return p
    was_live = p.status is PromotionStatus.PUBLISHED
    p.status = PromotionStatus.ARCHIVED
    await session.flush()
    record(session, actor, "promotion.archived", "promotion", p.id, {})
    _note(session, actor, p, "archived")
    if was_live:
        await bump_revision(session)
        await _publish(session, p, "delete")
    return p


def eligibility_of(p: Promotion) -> Eligibility:
    return Eligibility(
        tiers=frozenset(p.tiers),
        regions=frozenset(p.regions),
        dealers=frozenset(p.dealer_ids),
        segments=frozenset(p.segments),
        starts_at=p.starts_at,
        ends_at=p.ends_at,
        pilot_key=str(p.id),
        pilot_share_bp=p.pilot_share_bp,
    )


def build_step(p: Promotion, skus: frozenset[str]) -> LineStep | OrderStep | None:
    """The pipeline step for a price promotion (None for rebate and claimable kinds)."""
    m = mechanic_of(p)
    common: dict[str, Any] = {
        "rule_id": p.code,
        "rule_version": p.version,
        "priority": p.priority,
        "exclusive_group": p.exclusive_group,
        "stackable": p.stackable,
        "eligibility": eligibility_of(p),
    }
    only = skus or None
    if isinstance(m, PercentOff):
        return PercentOffLine(skus=skus, percent_off_bp=m.percent_off_bp, **common)
    if isinstance(m, AmountOff):
        return FixedAmountOffLine(skus=skus, amount_off=m.amount_off, **common)
    if isinstance(m, SpecialPrice):
        return SpecialPriceLine(skus=skus, unit_price=m.unit_price, **common)
    if isinstance(m, Threshold):
        return ThresholdDiscount(
            currency=p.currency,
            threshold=m.threshold,
            discount=m.discount,
            repeat=m.repeat,
            max_times=m.max_times,
            skus=only,
            **common,
        )
    if isinstance(m, Tiered):
        return TieredThreshold(
            currency=p.currency,
            tiers=tuple(ThresholdTier(threshold=t.threshold, discount=t.discount) for t in m.tiers),
            skus=only,
            **common,
        )
    if isinstance(m, BuyGet):
        return BuyXGetY(
            skus=skus,
            buy_qty=m.buy_qty,
            gift_sku=m.gift_sku,
            gift_qty=m.gift_qty,
            repeat=m.repeat,
            max_gifts=m.max_gifts,
            **common,
        )
    return None


async def promotion_skus(executor: Executor, p: Promotion) -> frozenset[str]:
    """The SKUs a promotion names, with its categories expanded."""
    codes = set(p.skus)
    if p.categories:
        codes |= await sku_codes_in_categories(executor, p.categories)
    return frozenset(codes)


async def live_promotion_steps(executor: Executor, currency: str) -> PromotionSteps:
    """Every published price promotion not yet ended, as steps (each checks eligibility).

    A promotion whose overall budget is spent is left out: consuming its last use bumps the
    catalog revision, and so does a release that reopens it (``order_budgets``). Per-dealer
    caps are not checked here (this set serves every dealer): placement re-prices an order
    without a promotion the dealer has used up.
    """
    now = utcnow()
    b = PromotionBudget
    stmt = (
        select(Promotion)
        .outerjoin(b, and_(b.promotion_id == Promotion.id, b.dealer_key == ""))
        .where(
            Promotion.status == PromotionStatus.PUBLISHED,
            Promotion.currency == currency,
            or_(Promotion.ends_at.is_(None), Promotion.ends_at > now),
            overall_budget_left(),
        )
    )
    rows = (await executor.execute(stmt)).scalars().all()
    line: list[LineStep] = []
    order: list[OrderStep] = []
    codes: set[str] = set()
    budgeted: set[str] = set()
    for p in rows:
        step = build_step(p, await promotion_skus(executor, p))
        if isinstance(step, PercentOffLine | FixedAmountOffLine | SpecialPriceLine):
            line.append(step)
        elif isinstance(step, ThresholdDiscount | TieredThreshold | BuyXGetY):
            order.append(step)
        else:
            continue
        codes.add(p.code)
        if has_budget(p):
            budgeted.add(p.code)
    return PromotionSteps(
        line_steps=tuple(line),
        order_steps=tuple(order),
        codes=frozenset(codes),
        budgeted=frozenset(budgeted),
    )


async def claimable_promotions(
    session: AsyncSession, dealer: DealerFacts, now: datetime
) -> list[Promotion]:
    """Published display-fee and sell-out promotions this dealer may claim at ``now``."""
    stmt = (
        select(Promotion)
        .where(
            Promotion.status == PromotionStatus.PUBLISHED,
            Promotion.kind.in_(sorted(CLAIMABLE_KINDS)),
        )
        .order_by(Promotion.code)
    )
    rows = (await session.execute(stmt)).scalars().all()
    return [p for p in rows if eligibility_of(p).admits(dealer, now)]


async def promotion_labels(
    session: AsyncSession, promotion_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    """Code and name of each of these promotions (for pages that list many)."""
    ids = set(promotion_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Promotion.id, Promotion.code, Promotion.name).where(Promotion.id.in_(ids))
    )
    return {r.id: (r.code, r.name) for r in rows}


async def promotion_id_by_code(session: AsyncSession, code: str) -> uuid.UUID | None:
    """The promotion with this code, if any."""
    return (
        await session.execute(select(Promotion.id).where(Promotion.code == code.strip()))
    ).scalar_one_or_none()
