"""The scale data set: the demo brand grown to a large channel, for the console's benchmark.

``channelhub seed-scale`` loads, on top of the demo data (its logins included): 10,000
dealers, 20,000 SKUs, 200,000 orders of the last 90 days (with their lines, trail, shipments
and ``order.placed`` audit events; about 1% waiting for review), 20,000 display-fee claims
with one read receipt each (about 8% waiting for review, some as duplicate suspects), price
lists by province and tier in two versions each (published through the price-list service,
so the sync feed holds their publications), channel nodes for 40% of the dealers with their
acknowledged cursors (most up to date, some lagging), and a pilot promotion over every dealer
(``SC-PILOT``, half of them in its test group, half way through its window).

The bulk rows go in by ``COPY`` on PostgreSQL (``server.db.fast.copy_rows``) in one
transaction; what the pages read is what real use leaves in the same tables, but money is
not a ledger history: balances, stock and budgets are the demo's. The same seed gives the
same codes, names, amounts and statuses; times are relative to the load.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditEvent
from server.catalog.models import Category, Product
from server.catalog.models import Sku as SkuModel
from server.catalog.service import bump_revision
from server.claims.models import Claim, ClaimEvent, ClaimReceipt
from server.db.base import utcnow
from server.db.engine import Database
from server.db.fast import copy_rows
from server.db.session import transaction
from server.dealers.models import Dealer as DealerModel
from server.dealers.models import DealerRegion
from server.demo import network, scale_rows, seed
from server.demo.scale_rows import Dealer, Promotion, Sku
from server.demo.showcase import brand_today
from server.identity.models import Role, User
from server.identity.principal import Principal
from server.orders.models import Order, OrderEvent, OrderLine, OrderShipment
from server.orders.service import approval_threshold
from server.pricelists import service as pricelists
from server.pricelists.models import PriceListEntry, PriceListStatus, PriceListVersion
from server.pricing import Scope
from server.promotions.models import Promotion as PromotionModel
from server.promotions.schemas import (
    BudgetIn,
    DisplayFee,
    EligibilityIn,
    PromotionIn,
    Tier,
    Tiered,
)
from server.promotions.service import create_promotion, publish_promotion
from server.settings import Settings
from server.trail import install_trail
from sync import metadata as sync_metadata
from sync import scope_versions

__all__ = ["ScaleRefused", "ScaleSizes", "seed_scale"]

MARKER = "SC00001"
"""The first scale dealer's code: its presence means the set is loaded."""
DAYS = 90
REPS = 40
NODE_SHARE = 0.4
LAGGING_SHARE = 0.15
PROVINCES = [code for code, _name, parent in network.REGIONS if parent is None]
LEAVES = ["330106", "330110", "330200", "320100", "320500", "440100", "440300", "510100"]
LEAVES += ["510700"]
PILOT_CODE = "SC-PILOT"
CLAIM_PROMOTIONS = [
    ("SC-DISPLAY-A", "核心门店端架陈列 ¥500/店", 500_00, 300_00),
    ("SC-DISPLAY-B", "冰柜陈列奖励 ¥200/店", 200_00, 100_00),
    ("SC-DISPLAY-C", "堆头陈列奖励 ¥800/店", 800_00, 0),
]


class ScaleRefused(Exception):
    """The database holds other data (or the scale set already): nothing was written."""


@dataclass(frozen=True, kw_only=True)
class ScaleSizes:
    dealers: int = 10_000
    skus: int = 20_000
    orders: int = 200_000
    claims: int = 20_000


Say = Callable[[str], None]


async def seed_scale(
    settings: Settings,
    sizes: ScaleSizes,
    *,
    seed_value: int = 17,
    force: bool = False,
    password: str = "channelhub-demo",
    say: Say = print,
) -> dict[str, int]:
    """Load the demo data and the scale set into an empty database; the counts written.

    Raises :class:`ScaleRefused` if the database already holds data (unless ``force``: then
    the set goes on top of it) or already holds the scale set.
    """
    database = Database(settings.database)
    try:
        async with database.session(write=False) as session:
            await _check_empty(session, force=force)
    finally:
        await database.dispose()
    started = time.perf_counter()
    await seed(settings, password)
    say(f"demo data in {time.perf_counter() - started:.1f} s")
    database = Database(settings.database)
    install_trail(database)
    try:
        async with transaction(database) as session:
            counts = await _load(session, settings, sizes, random.Random(seed_value), say)
        if database.engine.dialect.name == "postgresql":
            # The planner's statistics, as a database that grew by use has them (autovacuum
            # would gather them minutes later; the benchmark starts at once).
            async with database.engine.connect() as conn:
                await conn.execute(text("ANALYZE"))
                await conn.commit()
            say("statistics gathered (ANALYZE)")
        return counts
    finally:
        await database.dispose()


async def _check_empty(session: AsyncSession, *, force: bool) -> None:
    marker = await session.execute(select(DealerModel.id).where(DealerModel.code == MARKER))
    if marker.first() is not None:
        raise ScaleRefused(
            "The scale data set is already loaded in this database; load it into a fresh one."
        )
    users = int((await session.execute(select(func.count()).select_from(User))).scalar_one())
    if users and not force:
        raise ScaleRefused(
            f"This database already holds data ({users} users): the scale set is meant for an "
            "empty database (a throwaway one). Pass --force to add it on top anyway."
        )


async def _load(
    session: AsyncSession, settings: Settings, sizes: ScaleSizes, rng: random.Random, say: Say
) -> dict[str, int]:
    """Every bulk table in dependency order, saying how long each step took."""
    now = utcnow()
    hq_id = (await session.execute(select(User.id).where(User.username == "hq"))).scalar_one()
    hq = Principal(user_id=hq_id, role=Role.HQ_ADMIN)
    counts: dict[str, int] = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        say(f"{name} in {time.perf_counter() - clock:.1f} s")
        clock = time.perf_counter()

    reps = await _reps(session, rng, now)
    dealers, rows, links = scale_rows.dealers(rng, sizes.dealers, LEAVES, now)
    counts["dealers"] = await _copy(session, DealerModel, rows)
    await _copy(session, DealerRegion, links)
    step(f"{sizes.dealers} dealers")
    skus = await _catalog(session, rng, sizes.skus, now)
    counts["skus"] = len(skus)
    step(f"{sizes.skus} SKUs")
    counts["price_list_items"] = await _price_lists(session, hq, rng, skus)
    step("price lists (published)")
    counts |= await _orders(session, rng, hq_id, dealers, skus, sizes.orders, now)
    step(f"{sizes.orders} orders")
    promotions = await _claim_promotions(session, hq, settings)
    await _pilot(session, hq, settings)
    counts |= await _claims(session, rng, hq_id, dealers, promotions, reps, sizes.claims, now)
    step(f"{sizes.claims} claims")
    counts["node_cursors"] = await _nodes(session, rng, dealers, now)
    step("channel nodes")
    return counts


async def _copy(session: AsyncSession, model: type, rows: scale_rows.Rows) -> int:
    columns, records = rows
    return await copy_rows(session, model.__table__, columns, records)  # type: ignore[attr-defined]


async def _reps(session: AsyncSession, rng: random.Random, now: datetime) -> list[uuid.UUID]:
    """Field reps (no password: they sign in through WeChat)."""
    ids = [scale_rows.new_id(rng) for _ in range(REPS)]
    columns = ("id", "username", "password_hash", "display_name", "role", "dealer_id", "phone")
    columns += ("wechat_openid", "wechat_unionid", "active", "token_generation")
    columns += ("created_at", "updated_at")
    rows = [
        (i, None, None, f"业务员 {n + 1:02d}", Role.REP, None, None, None, None, True, 0, now, now)
        for n, i in enumerate(ids)
    ]
    await _copy(session, User, (columns, rows))
    return ids


async def _catalog(
    session: AsyncSession, rng: random.Random, count: int, now: datetime
) -> list[Sku]:
    categories = list(
        (await session.execute(select(Category.id).order_by(Category.code))).scalars()
    )
    skus, products, rows = scale_rows.catalog(rng, count, categories, now)
    await _copy(session, Product, products)
    await _copy(session, SkuModel, rows)
    await bump_revision(session)
    return skus


async def _price_lists(
    session: AsyncSession, hq: Principal, rng: random.Random, skus: list[Sku]
) -> int:
    """Per province every SKU, per tier a share of them: version 1 published then superseded
    by version 2 (prices moved a little), and a draft of a third on the small list."""
    lists = [
        (f"SC-REGION-{p}", f"区域价目表 {p}", Scope.REGION, p, skus, 1.0) for p in PROVINCES
    ] + [
        ("SC-TIER-GROWTH", "成长经销商价 (规模)", Scope.TIER, "growth", skus[:5000], 0.97),
        ("SC-TIER-WATCH", "观察经销商价 (规模)", Scope.TIER, "watch", skus[:300], 1.05),
    ]
    written = 0
    for code, name, scope, key, priced, factor in lists:
        for version in (1, 2):
            entry = PriceListVersion(
                id=scale_rows.new_id(rng),
                code=code,
                version=version,
                name=name,
                scope=scope,
                scope_key=key,
                priority=20,
                status=PriceListStatus.DRAFT,
                created_by=hq.user_id,
            )
            session.add(entry)
            await session.flush()
            items = scale_rows.price_items(rng, entry.id, priced, factor * (1 + 0.02 * version))
            written += await _copy(session, PriceListEntry, items)
            if version == 2 and code == "SC-TIER-WATCH":
                break  # left a draft
            await pricelists.publish(session, hq, entry.id)
    return written


def _moments(rng: random.Random, count: int, now: datetime) -> list[datetime]:
    """``count`` moments over the last ``DAYS`` days, oldest first (a few today)."""
    span = DAYS * 86400
    return sorted(now - timedelta(seconds=rng.uniform(60, span)) for _ in range(count))


async def _orders(
    session: AsyncSession,
    rng: random.Random,
    hq_id: uuid.UUID,
    dealers: list[Dealer],
    skus: list[Sku],
    count: int,
    now: datetime,
) -> dict[str, int]:
    threshold = await approval_threshold(session)
    made = scale_rows.OrderRows(rng, hq_id, threshold)
    # Dealers order unevenly: a fifth of them place most orders.
    busy = dealers[: max(1, len(dealers) // 5)]
    for at in _moments(rng, count, now):
        made.add(rng.choice(busy) if rng.random() < 0.6 else rng.choice(dealers), skus, at, now)
    return {
        "orders": await _copy(session, Order, (scale_rows.ORDER_COLUMNS, made.orders)),
        "order_lines": await _copy(session, OrderLine, (scale_rows.LINE_COLUMNS, made.lines)),
        "order_events": await _copy(session, OrderEvent, (scale_rows.EVENT_COLUMNS, made.events)),
        "order_shipments": await _copy(
            session, OrderShipment, (scale_rows.SHIPMENT_COLUMNS, made.shipments)
        ),
        "audit_events": await _copy(session, AuditEvent, (scale_rows.AUDIT_COLUMNS, made.audit)),
    }


async def _claim_promotions(
    session: AsyncSession, hq: Principal, settings: Settings
) -> list[Promotion]:
    """The demo's display-fee promotion and three more, published by the service."""
    today = brand_today(settings)
    out: list[Promotion] = []
    for code, name, amount, limit in CLAIM_PROMOTIONS:
        body = PromotionIn(
            code=code,
            name=name,
            mechanic=DisplayFee(amount=amount, max_images=3, auto_approve_limit=limit),
            eligibility=EligibilityIn(),
            budget=BudgetIn(),
            starts_on=today - timedelta(days=DAYS + 10),
            ends_on=today + timedelta(days=60),
        )
        made = await create_promotion(session, hq, body, settings.timezone)
        await publish_promotion(session, hq, made.id)
        out.append(Promotion(made.id, code, amount, limit))
    endcap = (
        await session.execute(
            select(PromotionModel.id).where(PromotionModel.code == "DISPLAY-ENDCAP")
        )
    ).scalar_one_or_none()
    if endcap is not None:
        out.append(Promotion(endcap, "DISPLAY-ENDCAP", 300_00, 0))
    return out


async def _pilot(session: AsyncSession, hq: Principal, settings: Settings) -> None:
    """A 满减 pilot over every dealer, half of them in the test group, half way through its
    window: its page walks all 10,000 dealers and their orders."""
    today = brand_today(settings)
    body = PromotionIn(
        code=PILOT_CODE,
        name="满万减百试点（全渠道一半经销商）",
        mechanic=Tiered(tiers=[Tier(threshold=10_000_00, discount=100_00)]),
        starts_on=today - timedelta(days=DAYS // 2),
        ends_on=today + timedelta(days=DAYS // 2),
        pilot_share_bp=5000,
    )
    made = await create_promotion(session, hq, body, settings.timezone)
    await publish_promotion(session, hq, made.id)


async def _claims(
    session: AsyncSession,
    rng: random.Random,
    hq_id: uuid.UUID,
    dealers: list[Dealer],
    promotions: list[Promotion],
    reps: list[uuid.UUID],
    count: int,
    now: datetime,
) -> dict[str, int]:
    made = scale_rows.ClaimRows(rng, hq_id)
    for at in _moments(rng, count, now):
        made.add(rng.choice(dealers), rng.choice(promotions), rng.choice(reps), at)
    return {
        "claims": await _copy(session, Claim, (scale_rows.CLAIM_COLUMNS, made.claims)),
        "claim_receipts": await _copy(
            session, ClaimReceipt, (scale_rows.RECEIPT_COLUMNS, made.receipts)
        ),
        "claim_events": await _copy(
            session, ClaimEvent, (scale_rows.CLAIM_EVENT_COLUMNS, made.events)
        ),
    }


def _scopes(dealer: Dealer) -> list[str]:
    """The price and promotion scopes a dealer's node follows (``replication.scopes_for``)."""
    parents = {code: parent for code, _name, parent in network.REGIONS}
    regions = set(dealer.regions) | {parents[r] for r in dealer.regions if parents.get(r)}
    regions |= {parents[r] for r in list(regions) if parents.get(r)}
    segment = "ka" if dealer.tier == "core" else "traditional"
    scopes = ["price:default", f"price:tier:{dealer.tier}", "promo:all"]
    scopes += [f"promo:tier:{dealer.tier}", f"promo:{segment}", f"dealer:{dealer.id}"]
    return scopes + [f"price:region:{r}" for r in sorted(regions)]


async def _nodes(
    session: AsyncSession, rng: random.Random, dealers: list[Dealer], now: datetime
) -> int:
    """A device for a share of the dealers, acknowledged up to the head of each scope it
    follows, some of them behind (offline for days)."""
    chosen = [d for d in dealers if rng.random() < NODE_SHARE]
    wanted = {s for d in chosen for s in _scopes(d)}
    heads = await scope_versions(session, wanted)
    nodes: list[tuple[object, ...]] = []
    cursors: list[tuple[object, ...]] = []
    for n, dealer in enumerate(chosen, start=1):
        node_id = f"scale-{n:06d}-{dealer.code}"
        lagging = rng.random() < LAGGING_SHARE
        seen = now - timedelta(days=rng.uniform(1, 20) if lagging else rng.uniform(0, 0.5))
        nodes.append((node_id, "client", None, str(dealer.id), seen - timedelta(days=30), seen))
        for scope in _scopes(dealer):
            head = heads.get(scope, 0)
            acked = rng.randint(0, max(head - 1, 0)) if lagging and head else head
            cursors.append((node_id, scope, acked, seen))
    tables = sync_metadata.tables
    node_columns = ("node_id", "kind", "subject_id", "dealer_id", "created_at", "last_seen_at")
    await copy_rows(session, tables["sync_node"], node_columns, nodes)
    return await copy_rows(
        session, tables["sync_node_cursor"], ("node_id", "scope", "version", "acked_at"), cursors
    )
