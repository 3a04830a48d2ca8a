"""Dealers and tiers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.audit import record
from server.catalog import bump_revision, known_category_codes
from server.db.repository import flush_or_conflict, get_or_404, keyset_page
from server.dealers.models import Dealer, DealerRegion, DealerStatus, DealerTier
from server.dealers.schemas import (
    DealerCreate,
    DealerOut,
    DealerUpdate,
    TierCreate,
    TierOut,
    TierUpdate,
)
from server.errors import Invalid, NotFound
from server.identity.principal import Principal
from server.pricing import DealerFacts, RegionCode
from server.regions import known_region_codes, region_parents
from server.schemas import set_fields


def tier_out(t: DealerTier) -> TierOut:
    return TierOut(
        code=t.code,
        name_zh=t.name_zh,
        name_en=t.name_en,
        rank=t.rank,
        requires_prepayment=t.requires_prepayment,
        credit_days=t.credit_days,
        rebate_cap_bp=t.rebate_cap_bp,
        rebate_excluded_categories=list(t.rebate_excluded_categories or []),
        rebate_excludes_promoted=t.rebate_excludes_promoted,
    )


def dealer_out(d: Dealer) -> DealerOut:
    return DealerOut(
        id=d.id,
        code=d.code,
        name=d.name,
        tier_code=d.tier_code,
        status=d.status,
        region_codes=d.region_codes,
        parent_id=d.parent_id,
        contact_name=d.contact_name,
        contact_phone=d.contact_phone,
        address=d.address,
        segments=list(d.segments or []),
        uses_rebate=d.uses_rebate,
        created_at=d.created_at,
    )


async def _check_categories(session: AsyncSession, codes: list[str]) -> list[str]:
    """The distinct category codes, each known (422 ``category_unknown`` naming the others)."""
    unique = sorted(set(codes))
    missing = sorted(set(unique) - await known_category_codes(session, unique))
    if missing:
        raise Invalid(
            "category_unknown",
            "商品类别不存在",
            "Unknown category codes",
            errors=[
                {
                    "key": "rebateExcludedCategories",
                    "message": f"未知类别：{'、'.join(missing)}",
                    "message_en": f"unknown: {', '.join(missing)}",
                }
            ],
        )
    return unique


async def create_tier(session: AsyncSession, actor: Principal, body: TierCreate) -> DealerTier:
    fields = {name: getattr(body, name) for name in body.__struct_fields__}
    fields["rebate_excluded_categories"] = await _check_categories(
        session, body.rebate_excluded_categories
    )
    tier = DealerTier(**fields)
    session.add(tier)
    await flush_or_conflict(session, "tier_exists")
    record(session, actor, "tier.created", "tier", tier.code)
    return tier


async def update_tier(
    session: AsyncSession, actor: Principal, code: str, body: TierUpdate
) -> DealerTier:
    tier = await get_or_404(session, DealerTier, code, "tier")
    changes = set_fields(body)
    if body.rebate_excluded_categories is not None:
        changes["rebate_excluded_categories"] = await _check_categories(
            session, body.rebate_excluded_categories
        )
    for name, value in changes.items():
        setattr(tier, name, value)
    record(session, actor, "tier.updated", "tier", code, changes)
    return tier


async def list_tiers(session: AsyncSession) -> Sequence[DealerTier]:
    return (
        (await session.execute(select(DealerTier).order_by(DealerTier.rank, DealerTier.code)))
        .scalars()
        .all()
    )


async def _check_regions(session: AsyncSession, codes: list[str]) -> list[str]:
    unique = sorted(set(codes))
    if not unique:
        return unique
    found = await known_region_codes(session, unique)
    missing = [c for c in unique if c not in found]
    if missing:
        raise Invalid(
            "region_unknown",
            "地区编码不存在",
            "Unknown region codes",
            errors=[
                {
                    "key": "regionCodes",
                    "message": f"未知区域：{'、'.join(missing)}",
                    "message_en": f"unknown: {', '.join(missing)}",
                }
            ],
        )
    return unique


async def _check_parent(
    session: AsyncSession, dealer_id: uuid.UUID | None, parent_id: uuid.UUID
) -> None:
    parent = await get_or_404(session, Dealer, parent_id, "dealer")
    if parent.parent_id is not None:
        raise Invalid(
            "dealer_parent_depth",
            "只支持两级分销",
            "Only two levels of distribution are supported",
            errors=[
                {
                    "key": "parentId",
                    "message": "上级经销商本身已有上级",
                    "message_en": "the parent already has a parent",
                }
            ],
        )
    if dealer_id is not None:
        if parent.id == dealer_id:
            raise Invalid(
                "dealer_parent_self", "上级经销商不能是自己", "A dealer cannot be its own parent"
            )
        children = await session.scalar(select(func.count()).where(Dealer.parent_id == dealer_id))
        if children:
            raise Invalid(
                "dealer_parent_depth",
                "只支持两级分销",
                "Only two levels of distribution are supported",
                errors=[
                    {
                        "key": "parentId",
                        "message": "该经销商已有下级经销商",
                        "message_en": "this dealer has sub-dealers",
                    }
                ],
            )


async def create_dealer(session: AsyncSession, actor: Principal, body: DealerCreate) -> Dealer:
    await get_or_404(session, DealerTier, body.tier_code, "tier")
    regions = await _check_regions(session, body.region_codes)
    if body.parent_id is not None:
        await _check_parent(session, None, body.parent_id)
    dealer = Dealer(
        id=uuid.uuid4(),
        code=body.code,
        name=body.name,
        tier_code=body.tier_code,
        parent_id=body.parent_id,
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
        address=body.address,
        segments=list(body.segments),
        uses_rebate=body.uses_rebate,
        regions=[DealerRegion(region_code=c) for c in regions],
    )
    session.add(dealer)
    await flush_or_conflict(session, "dealer_exists")
    record(
        session,
        actor,
        "dealer.created",
        "dealer",
        dealer.id,
        {"code": body.code, "tier": body.tier_code},
    )
    return dealer


async def update_dealer(
    session: AsyncSession, actor: Principal, dealer_id: uuid.UUID, body: DealerUpdate
) -> Dealer:
    # Locked: concurrent updates that replace the dealer's regions take turns.
    dealer = await get_or_404(session, Dealer, dealer_id, "dealer", for_update=True)
    changes = set_fields(body)
    if body.tier_code is not None:
        await get_or_404(session, DealerTier, body.tier_code, "tier")
    if body.parent_id is not None:
        await _check_parent(session, dealer.id, body.parent_id)
    if body.region_codes is not None:
        regions = await _check_regions(session, body.region_codes)
        dealer.regions = [DealerRegion(region_code=c) for c in regions]
        changes.pop("region_codes")
    for name, value in changes.items():
        setattr(dealer, name, value)
    await flush_or_conflict(session)
    if body.tier_code is not None or body.region_codes is not None or body.segments is not None:
        await bump_revision(session)  # the dealer's prices may change: drop cached pages
    record(
        session,
        actor,
        "dealer.updated",
        "dealer",
        dealer.id,
        {k: str(v) for k, v in set_fields(body).items()},
    )
    return dealer


async def close_dealer(session: AsyncSession, actor: Principal, dealer_id: uuid.UUID) -> Dealer:
    """Dealers are never deleted (orders and ledgers refer to them): they are closed."""
    dealer = await get_or_404(session, Dealer, dealer_id, "dealer")
    dealer.status = DealerStatus.CLOSED
    record(session, actor, "dealer.closed", "dealer", dealer.id)
    return dealer


async def list_dealers(
    session: AsyncSession,
    *,
    tier: str | None,
    status: DealerStatus | None,
    region: str | None,
    q: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Dealer], str | None]:
    stmt = select(Dealer)
    if tier:
        stmt = stmt.where(Dealer.tier_code == tier)
    if status:
        stmt = stmt.where(Dealer.status == status)
    if region:
        stmt = stmt.where(
            Dealer.id.in_(select(DealerRegion.dealer_id).where(DealerRegion.region_code == region))
        )
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(Dealer.name.like(like), Dealer.code.like(like)))
    return await keyset_page(session, stmt, Dealer.code, cursor, limit)


async def dealer_pricing_facts(
    executor: AsyncConnection | AsyncSession, dealer_id: uuid.UUID
) -> DealerFacts:
    """What pricing needs of a dealer: tier, segments, authorized regions with ancestors
    (deeper regions rank higher), read with Core statements."""
    dealer = (
        await executor.execute(
            select(Dealer.tier_code, Dealer.segments).where(Dealer.id == dealer_id)
        )
    ).first()
    if dealer is None:
        raise NotFound("dealer_not_found")
    codes = list(
        (
            await executor.execute(
                select(DealerRegion.region_code).where(DealerRegion.dealer_id == dealer_id)
            )
        ).scalars()
    )
    parents = await _ancestry(executor, codes)
    return _facts(dealer_id, dealer.tier_code, dealer.segments, codes, parents)


async def active_dealer_pricing_facts(
    executor: AsyncConnection | AsyncSession,
) -> list[DealerFacts]:
    """``dealer_pricing_facts`` of every active dealer, by code, in three reads whatever their
    number (pilot groups walk them all)."""
    active = (
        select(Dealer.id, Dealer.tier_code, Dealer.segments)
        .where(Dealer.status == DealerStatus.ACTIVE)
        .order_by(Dealer.code)
    )
    dealers = (await executor.execute(active)).all()
    authorized = select(DealerRegion.dealer_id, DealerRegion.region_code).join(
        Dealer, Dealer.id == DealerRegion.dealer_id
    )
    codes: dict[uuid.UUID, list[str]] = {}
    for dealer_id, code in await executor.execute(
        authorized.where(Dealer.status == DealerStatus.ACTIVE)
    ):
        codes.setdefault(dealer_id, []).append(code)
    parents = await _ancestry(executor, {c for cs in codes.values() for c in cs})
    return [_facts(d.id, d.tier_code, d.segments, codes.get(d.id, []), parents) for d in dealers]


async def _ancestry(
    executor: AsyncConnection | AsyncSession, codes: Iterable[str]
) -> dict[str, str | None]:
    """Each of these regions and its ancestors -> its parent (one read per level)."""
    parents: dict[str, str | None] = {}
    todo = set(codes)
    while todo:
        rows = await region_parents(executor, todo)
        todo = set()
        for code, parent in rows:
            parents[code] = parent
            if parent is not None and parent not in parents:
                todo.add(parent)
    return parents


def _facts(
    dealer_id: uuid.UUID,
    tier: str,
    segments: Sequence[str] | None,
    codes: Iterable[str],
    parents: dict[str, str | None],
) -> DealerFacts:
    regions: dict[str, int] = {}
    for code in codes:
        path: list[str] = []
        current: str | None = code
        while current is not None and current in parents and len(path) < 8:
            path.append(current)
            current = parents[current]
        for depth, ancestor in enumerate(reversed(path)):
            regions[ancestor] = max(depth, regions.get(ancestor, depth))
    return DealerFacts(
        id=str(dealer_id),
        tier=tier,
        regions=tuple(RegionCode(code=c, depth=d) for c, d in sorted(regions.items())),
        segments=frozenset(segments or ()),
    )


async def dealer_labels(
    session: AsyncSession, dealer_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    """Code and name of each of these dealers (for pages that list many)."""
    ids = set(dealer_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Dealer.id, Dealer.code, Dealer.name).where(Dealer.id.in_(ids))
    )
    return {r.id: (r.code, r.name) for r in rows}


async def dealer_id_by_code(session: AsyncSession, code: str) -> uuid.UUID | None:
    """The dealer with this code, if any."""
    return (
        await session.execute(select(Dealer.id).where(Dealer.code == code.strip()))
    ).scalar_one_or_none()


async def dealer_region_codes(session: AsyncSession, dealer_id: uuid.UUID) -> list[str]:
    """The regions a dealer is authorized for."""
    rows = await session.execute(
        select(DealerRegion.region_code)
        .where(DealerRegion.dealer_id == dealer_id)
        .order_by(DealerRegion.region_code)
    )
    return list(rows.scalars())
