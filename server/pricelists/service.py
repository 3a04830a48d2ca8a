"""Price-list lifecycle: draft -> published (the previous version superseded, never deleted).

Publishing checks, in the one transaction that flips the status, that no equally-ranked
published list (same scope, key, priority and currency, overlapping effective window) also
prices one of the SKUs: such a pair is a configuration error (409 with every SKU named),
never a silent pick at order time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.catalog import bump_revision, existing_sku_codes
from server.db.base import utcnow
from server.db.repository import get_or_404, keyset_page
from server.dealers import get_dealer, get_tier
from server.errors import Conflict, Invalid, NotFound
from server.identity.principal import Principal
from server.messages import texts
from server.pricelists.decisions import note_price_list_decision
from server.pricelists.models import PriceListEntry, PriceListStatus, PriceListVersion
from server.pricelists.notices import notify_price_list_published
from server.pricelists.publication import publish_price_list_change, sync_scopes
from server.pricelists.schemas import (
    BreakOut,
    ItemIn,
    ItemOut,
    PriceListCreate,
    PriceListOut,
    PriceListUpdate,
)
from server.pricing import Scope, VolumeBreak, validate_breaks
from server.regions import require_region
from server.schemas import set_fields

MAX_CONFLICTS_REPORTED = 100


def price_list_out(pl: PriceListVersion, item_count: int) -> PriceListOut:
    return PriceListOut(
        id=pl.id,
        code=pl.code,
        version=pl.version,
        name=pl.name,
        scope=pl.scope,
        scope_key=pl.scope_key,
        priority=pl.priority,
        currency=pl.currency,
        effective_from=pl.effective_from,
        effective_to=pl.effective_to,
        status=pl.status,
        published_at=pl.published_at,
        item_count=item_count,
    )


def item_out(entry: PriceListEntry) -> ItemOut:
    return ItemOut(
        sku=entry.sku_code,
        unit_price=entry.unit_price,
        break_kind=entry.break_kind,
        breaks=[BreakOut(**b) for b in entry.breaks or ()],
    )


async def count_items(session: AsyncSession, price_list_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(PriceListEntry.price_list_id == price_list_id)
    return int(await session.scalar(stmt) or 0)


async def count_items_of(
    session: AsyncSession, price_list_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Items per version for many versions in one statement (a version without any: 0)."""
    if not price_list_ids:
        return {}
    stmt = (
        select(PriceListEntry.price_list_id, func.count())
        .where(PriceListEntry.price_list_id.in_(list(price_list_ids)))
        .group_by(PriceListEntry.price_list_id)
    )
    counts = {row[0]: int(row[1]) for row in await session.execute(stmt)}
    return {i: counts.get(i, 0) for i in price_list_ids}


def _check_scope(scope: Scope, scope_key: str | None) -> None:
    if (scope is Scope.DEFAULT) != (scope_key is None):
        raise Invalid(
            "scope_key_invalid",
            "默认价目表不能指定范围，其它价目表必须指定",
            "scopeKey must be empty for the default scope and set for the others",
            errors=[
                {
                    "key": "scopeKey",
                    "message": "默认价目表不填范围，其它价目表必填",
                    "message_en": "Required unless the scope is default",
                }
            ],
        )


def _check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise Invalid(
            "effective_window_invalid",
            "失效时间须晚于生效时间",
            "effectiveTo must be after effectiveFrom",
            errors=[
                {
                    "key": "effectiveTo",
                    "message": "须晚于生效时间",
                    "message_en": "Must be after effectiveFrom",
                }
            ],
        )


async def _check_scope_key(session: AsyncSession, scope: Scope, key: str | None) -> None:
    if key is None:
        return
    if scope is Scope.TIER:
        await get_tier(session, key)
    elif scope is Scope.REGION:
        await require_region(session, key)
    elif scope is Scope.DEALER:
        try:
            dealer_id = uuid.UUID(key)
        except ValueError as exc:
            raise Invalid(
                "scope_key_invalid",
                "经销商价目表的范围须为经销商 ID",
                "A dealer list's scopeKey is the dealer id",
            ) from exc
        await get_dealer(session, dealer_id)


def _item_error(key: str, code: str, **params: Any) -> dict[str, Any]:
    """An item's error with the catalogue's zh-CN and English texts."""
    words = texts(f"pricelist.{code}", **params)
    return {"key": key, "code": code, "message": words.zh, "message_en": words.en}


async def validate_items(session: AsyncSession, items: Sequence[ItemIn]) -> list[dict[str, Any]]:
    """Row errors of a list of items: unknown SKU, duplicate, invalid breaks."""
    errors: list[dict[str, Any]] = []
    known = await existing_sku_codes(session, (item.sku for item in items))
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        key = f"items[{index}]"
        if item.sku not in known:
            errors.append(_item_error(key, "sku_unknown", item=index + 1, sku=item.sku))
        if item.sku in seen:
            errors.append(
                _item_error(
                    key, "sku_duplicate", item=index + 1, sku=item.sku, first=seen[item.sku] + 1
                )
            )
        seen.setdefault(item.sku, index)
        breaks = [
            VolumeBreak(min_qty=b.min_qty, unit_price=b.unit_price, max_qty=b.max_qty)
            for b in item.breaks
        ]
        for issue in validate_breaks(item.unit_price, breaks):
            errors.append(
                {
                    "key": key,
                    "code": issue.code,
                    "message": issue.message,
                    "message_en": issue.message_en,
                }
            )
    return errors


def entry_values(price_list_id: uuid.UUID, item: ItemIn) -> dict[str, Any]:
    return {
        "price_list_id": price_list_id,
        "sku_code": item.sku,
        "unit_price": item.unit_price,
        "break_kind": str(item.break_kind),
        "breaks": [
            {"min_qty": b.min_qty, "unit_price": b.unit_price, "max_qty": b.max_qty}
            for b in item.breaks
        ],
    }


async def write_items(
    session: AsyncSession, price_list_id: uuid.UUID, rows: Sequence[dict[str, Any]]
) -> None:
    """Replace a draft's items in bulk (Core executemany, in chunks)."""
    await session.execute(
        delete(PriceListEntry).where(PriceListEntry.price_list_id == price_list_id)
    )
    table = cast(Table, PriceListEntry.__table__)
    for start in range(0, len(rows), 5000):
        await session.execute(insert(table), list(rows[start : start + 5000]))


async def _draft(session: AsyncSession, price_list_id: uuid.UUID) -> PriceListVersion:
    pl = await get_or_404(session, PriceListVersion, price_list_id, "price_list")
    if pl.status is not PriceListStatus.DRAFT:
        raise Conflict(
            "price_list_not_draft",
            "只能修改草稿状态的价目表",
            "Only a draft price list can be changed",
        )
    return pl


async def create_price_list(
    session: AsyncSession, actor: Principal, body: PriceListCreate
) -> PriceListVersion:
    _check_scope(body.scope, body.scope_key)
    _check_window(body.effective_from, body.effective_to)
    await _check_scope_key(session, body.scope, body.scope_key)
    exists = await session.scalar(select(func.count()).where(PriceListVersion.code == body.code))
    if exists:
        raise Conflict(
            "price_list_exists",
            "价目表编码已存在，请新建版本",
            "A list with this code exists: create a new version of it",
        )
    errors = await validate_items(session, body.items)
    if errors:
        raise Invalid(
            "price_list_items_invalid", "价目表明细有误", "Invalid price list items", errors=errors
        )
    pl = PriceListVersion(
        id=uuid.uuid4(),
        code=body.code,
        version=1,
        name=body.name,
        scope=body.scope,
        scope_key=body.scope_key,
        priority=body.priority,
        currency=body.currency,
        effective_from=body.effective_from,
        effective_to=body.effective_to,
        status=PriceListStatus.DRAFT,
        created_by=actor.user_id,
    )
    session.add(pl)
    await session.flush()
    await write_items(session, pl.id, [entry_values(pl.id, item) for item in body.items])
    record(
        session,
        actor,
        "price_list.created",
        "price_list",
        pl.id,
        {"code": pl.code, "version": 1, "items": len(body.items)},
    )
    return pl


async def new_version(
    session: AsyncSession, actor: Principal | None, code: str
) -> PriceListVersion:
    """A new draft copying the latest version of ``code`` (header and items)."""
    stmt = (
        select(PriceListVersion)
        .where(PriceListVersion.code == code)
        .order_by(PriceListVersion.version.desc())
        .limit(1)
    )
    latest = (await session.execute(stmt)).scalar_one_or_none()
    if latest is None:
        raise NotFound("price_list_not_found", "价目表不存在", "price list not found")
    if latest.status is PriceListStatus.DRAFT:
        raise Conflict(
            "draft_exists",
            "该价目表已有草稿",
            "This list already has a draft",
            draft_id=str(latest.id),
        )
    draft = PriceListVersion(
        id=uuid.uuid4(),
        code=code,
        version=latest.version + 1,
        name=latest.name,
        scope=latest.scope,
        scope_key=latest.scope_key,
        priority=latest.priority,
        currency=latest.currency,
        effective_from=latest.effective_from,
        effective_to=latest.effective_to,
        status=PriceListStatus.DRAFT,
        created_by=actor.user_id if actor else None,
    )
    session.add(draft)
    await session.flush()
    table = cast(Table, PriceListEntry.__table__)
    copy = select(table.c.sku_code, table.c.unit_price, table.c.break_kind, table.c.breaks).where(
        table.c.price_list_id == latest.id
    )
    rows = [
        {
            "price_list_id": draft.id,
            "sku_code": r.sku_code,
            "unit_price": r.unit_price,
            "break_kind": r.break_kind,
            "breaks": r.breaks,
        }
        for r in (await session.execute(copy)).all()
    ]
    await write_items(session, draft.id, rows)
    record(
        session,
        actor,
        "price_list.version_created",
        "price_list",
        draft.id,
        {"code": code, "version": draft.version, "from": latest.version},
    )
    return draft


async def update_price_list(
    session: AsyncSession, actor: Principal, price_list_id: uuid.UUID, body: PriceListUpdate
) -> PriceListVersion:
    pl = await _draft(session, price_list_id)
    changes = set_fields(body)
    for name, value in changes.items():
        setattr(pl, name, value)
    _check_window(pl.effective_from, pl.effective_to)
    record(
        session,
        actor,
        "price_list.updated",
        "price_list",
        pl.id,
        {k: str(v) for k, v in changes.items()},
    )
    return pl


async def replace_items(
    session: AsyncSession, actor: Principal, price_list_id: uuid.UUID, items: Sequence[ItemIn]
) -> PriceListVersion:
    pl = await _draft(session, price_list_id)
    errors = await validate_items(session, items)
    if errors:
        raise Invalid(
            "price_list_items_invalid", "价目表明细有误", "Invalid price list items", errors=errors
        )
    await write_items(session, pl.id, [entry_values(pl.id, item) for item in items])
    record(session, actor, "price_list.items_replaced", "price_list", pl.id, {"items": len(items)})
    return pl


async def delete_draft(session: AsyncSession, actor: Principal, price_list_id: uuid.UUID) -> None:
    pl = await _draft(session, price_list_id)
    await session.delete(pl)
    await session.flush()
    record(
        session,
        actor,
        "price_list.draft_deleted",
        "price_list",
        price_list_id,
        {"code": pl.code, "version": pl.version},
    )


def _overlap(a: PriceListVersion, b: PriceListVersion) -> bool:
    a_before_b_ends = (
        b.effective_to is None or a.effective_from is None or a.effective_from < b.effective_to
    )
    b_before_a_ends = (
        a.effective_to is None or b.effective_from is None or b.effective_from < a.effective_to
    )
    return a_before_b_ends and b_before_a_ends


async def find_publish_conflicts(
    session: AsyncSession, draft: PriceListVersion
) -> list[dict[str, Any]]:
    """SKUs the draft shares with an equally-ranked, overlapping published list of another code."""
    stmt = select(PriceListVersion).where(
        PriceListVersion.status == PriceListStatus.PUBLISHED,
        PriceListVersion.code != draft.code,
        PriceListVersion.scope == draft.scope,
        PriceListVersion.priority == draft.priority,
        PriceListVersion.currency == draft.currency,
    )
    if draft.scope_key is None:
        stmt = stmt.where(PriceListVersion.scope_key.is_(None))
    else:
        stmt = stmt.where(PriceListVersion.scope_key == draft.scope_key)
    rivals = [pl for pl in (await session.execute(stmt)).scalars() if _overlap(pl, draft)]
    conflicts: list[dict[str, Any]] = []
    mine = select(PriceListEntry.sku_code).where(PriceListEntry.price_list_id == draft.id)
    for rival in rivals:
        shared = (
            select(PriceListEntry.sku_code)
            .where(PriceListEntry.price_list_id == rival.id, PriceListEntry.sku_code.in_(mine))
            .order_by(PriceListEntry.sku_code)
            .limit(MAX_CONFLICTS_REPORTED)
        )
        for sku in (await session.execute(shared)).scalars():
            words = texts("pricelist.price_conflict", sku=sku, list=draft.code, rival=rival.code)
            conflicts.append(
                {
                    "code": "price_conflict",
                    "sku": sku,
                    "lists": [
                        {"id": draft.code, "version": draft.version},
                        {"id": rival.code, "version": rival.version},
                    ],
                    "message": words.zh,
                    "message_en": words.en,
                }
            )
    return conflicts[:MAX_CONFLICTS_REPORTED]


async def publish(
    session: AsyncSession, actor: Principal | None, price_list_id: uuid.UUID
) -> PriceListVersion:
    """Publish a draft: conflicts refused, previous version superseded, caches invalidated."""
    stmt = select(PriceListVersion).where(PriceListVersion.id == price_list_id).with_for_update()
    draft = (await session.execute(stmt)).scalar_one_or_none()
    if draft is None:
        draft = await get_or_404(session, PriceListVersion, price_list_id, "price_list")
    if draft.status is not PriceListStatus.DRAFT:
        raise Conflict("price_list_not_draft", "只有草稿可以发布", "Only a draft can be published")
    if not await count_items(session, draft.id):
        raise Invalid("price_list_empty", "价目表没有任何商品", "The price list has no items")
    conflicts = await find_publish_conflicts(session, draft)
    if conflicts:
        raise Conflict(
            "price_list_conflict",
            "与已发布的同级价目表存在定价冲突",
            "Equally-ranked published lists price the same SKUs",
            errors=conflicts,
        )
    previous = (
        (
            await session.execute(
                select(PriceListVersion)
                .where(
                    PriceListVersion.code == draft.code,
                    PriceListVersion.status == PriceListStatus.PUBLISHED,
                )
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    for old in previous:
        old.status = PriceListStatus.SUPERSEDED
    await session.flush()
    draft.status = PriceListStatus.PUBLISHED
    draft.published_at = utcnow()
    draft.published_by = actor.user_id if actor else None
    await session.flush()
    await bump_revision(session)
    scopes = sync_scopes(draft)
    await publish_price_list_change(session, draft, scopes)
    record(
        session,
        actor,
        "price_list.published",
        "price_list",
        draft.id,
        {
            "code": draft.code,
            "version": draft.version,
            "scopes": scopes,
            "superseded": [old.version for old in previous],
        },
    )
    await note_price_list_decision(session, actor, draft, "published")
    await notify_price_list_published(session, draft)
    return draft


async def list_price_lists(
    session: AsyncSession,
    *,
    code: str | None,
    status: PriceListStatus | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[PriceListVersion], str | None]:
    stmt = select(PriceListVersion)
    if code:
        stmt = stmt.where(PriceListVersion.code == code)
    if status is not None:
        stmt = stmt.where(PriceListVersion.status == status)
    return await keyset_page(session, stmt, PriceListVersion.id, cursor, limit)


async def list_items(
    session: AsyncSession, price_list_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[Sequence[PriceListEntry], str | None]:
    await get_or_404(session, PriceListVersion, price_list_id, "price_list")
    stmt = select(PriceListEntry).where(PriceListEntry.price_list_id == price_list_id)
    return await keyset_page(session, stmt, PriceListEntry.sku_code, cursor, limit)


async def get_price_list(session: AsyncSession, price_list_id: uuid.UUID) -> PriceListVersion:
    """One version (404 ``price_list_not_found``)."""
    return await get_or_404(session, PriceListVersion, price_list_id, "price_list")
