"""Load what ``server.pricing`` needs from the database, with Core statements.

Everything loaded here is cached per process and keyed by the catalog revision
(``server.catalog.service.read_revision``): every write that changes prices, SKUs or a
dealer's pricing facts bumps it in its own transaction, so one tiny read per request is
enough to know that nothing cached is stale. SKU rules and price items are remembered per
revision as carts ask for them (a warm cart then costs that one read and no other
statement); read the revision before anything remembered under it, so what is remembered is
never older than its key.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from server.catalog import REVISION_SQL, active_bundles, is_active, sku_rules_select
from server.db.engine import Database
from server.dealers import dealer_pricing_facts
from server.pricelists.models import PriceListEntry, PriceListStatus, PriceListVersion
from server.pricing import (
    BreakKind,
    DealerFacts,
    FixedBundle,
    PriceItem,
    PriceList,
    PriceResolver,
    Scope,
    VolumeBreak,
)
from server.promotions import BudgetDirectory, PromotionSteps, live_promotion_steps

Executor = AsyncConnection | AsyncSession
K = TypeVar("K")
V = TypeVar("V")


class SkuRule(msgspec.Struct, frozen=True, kw_only=True):
    """What pricing needs of a SKU row (order rules) and what a priced line shows."""

    code: str
    name: str
    pack_size: int
    min_qty: int
    whole_cases: bool
    active: bool
    id: uuid.UUID | None = None
    """The SKU row's id (what an order line references), when the read selected it."""


class Heads(msgspec.Struct, frozen=True, kw_only=True):
    """Every published list version without items, and its row id by list code."""

    lists: tuple[PriceList, ...]
    row_ids: dict[str, uuid.UUID]


async def read_revision_value(conn: AsyncConnection) -> int:
    value = (await conn.exec_driver_sql(REVISION_SQL)).scalar()
    return int(value or 0)


def _revision_connection_class() -> Any:
    import asyncpg

    class RevisionConnection(asyncpg.Connection):  # type: ignore[misc]
        """Only ever runs one autocommit SELECT: nothing to reset on release."""

        def get_reset_query(self) -> str:
            return ""

    return RevisionConnection


class PricingCache:
    """Per-process caches keyed by the catalog revision; stale entries are simply not hit."""

    def __init__(self, max_pages: int = 4096) -> None:
        self.max_pages = max_pages
        self._heads: tuple[int, Heads] | None = None
        self._facts: dict[uuid.UUID, tuple[int, DealerFacts]] = {}
        self._pages: OrderedDict[Any, bytes] = OrderedDict()
        self._reader: AsyncEngine | None = None
        self._pool: Any = None
        self._bundles: tuple[int, tuple[FixedBundle, ...]] | None = None
        self._promotions: dict[str, tuple[int, PromotionSteps]] = {}
        self._rules: tuple[int, dict[str, SkuRule | None]] = (-1, {})
        self._items: tuple[int, dict[tuple[uuid.UUID, str], PriceItem | None]] = (-1, {})
        self._pool_lock = asyncio.Lock()
        self.budgets = BudgetDirectory()  # which priced promotions have a budget

    def reader(self, database: Database) -> AsyncEngine:
        """The engine for hot-path reads: on PostgreSQL in autocommit, so a cache hit costs
        one statement (no BEGIN / ROLLBACK round trips); each statement sees committed data."""
        if self._reader is None:
            engine = database.read_engine
            if not database.is_sqlite:
                engine = engine.execution_options(isolation_level="AUTOCOMMIT")
            self._reader = engine
        return self._reader

    async def revision(self, database: Database) -> int:
        """The catalog revision, read fresh on every call (one round trip).

        On PostgreSQL through a small raw asyncpg pool: a cache hit then costs one
        autocommit SELECT and no ORM, pool-ping or reset round trips.
        """
        if database.is_sqlite:
            async with database.read_engine.connect() as conn:
                return await read_revision_value(conn)
        pool = self._pool or await self._open_pool(database)
        async with pool.acquire() as conn:
            value = await conn.fetchval(REVISION_SQL)
        return int(value or 0)

    async def _open_pool(self, database: Database) -> Any:
        import asyncpg

        async with self._pool_lock:
            if self._pool is None:
                url = database.url.set(drivername="postgresql")
                self._pool = await asyncpg.create_pool(
                    url.render_as_string(hide_password=False),
                    min_size=1,
                    max_size=16,
                    connection_class=_revision_connection_class(),
                )
        return self._pool

    async def aclose(self) -> None:
        """Close the revision pool (app shutdown)."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def bundles(self, revision: int) -> tuple[FixedBundle, ...] | None:
        if self._bundles is not None and self._bundles[0] == revision:
            return self._bundles[1]
        return None

    def store_bundles(self, revision: int, steps: tuple[FixedBundle, ...]) -> None:
        self._bundles = (revision, steps)

    def promotions(self, revision: int, currency: str) -> PromotionSteps | None:
        found = self._promotions.get(currency)
        return found[1] if found is not None and found[0] == revision else None

    def store_promotions(self, revision: int, currency: str, steps: PromotionSteps) -> None:
        self._promotions[currency] = (revision, steps)
        self.budgets.learn(steps)

    def sku_rules(self, revision: int) -> dict[str, SkuRule | None]:
        """This revision's SKU rules by code (``None``: no such SKU), filled as carts ask."""
        self._rules = _memo_for(self._rules, revision)
        return self._rules[1] if self._rules[0] == revision else {}

    def price_items(self, revision: int) -> dict[tuple[uuid.UUID, str], PriceItem | None]:
        """This revision's price items by (list row id, SKU) (``None``: not on that list)."""
        self._items = _memo_for(self._items, revision)
        return self._items[1] if self._items[0] == revision else {}

    def heads(self, revision: int) -> Heads | None:
        if self._heads is not None and self._heads[0] == revision:
            return self._heads[1]
        return None

    def store_heads(self, revision: int, heads: Heads) -> None:
        self._heads = (revision, heads)

    def facts(self, revision: int, dealer_id: uuid.UUID) -> DealerFacts | None:
        found = self._facts.get(dealer_id)
        return found[1] if found is not None and found[0] == revision else None

    def store_facts(self, revision: int, dealer_id: uuid.UUID, facts: DealerFacts) -> None:
        if len(self._facts) > 100_000:
            self._facts.clear()
        self._facts[dealer_id] = (revision, facts)

    def page(self, key: Any) -> bytes | None:
        found = self._pages.get(key)
        if found is not None:
            self._pages.move_to_end(key)
        return found

    def store_page(self, key: Any, body: bytes) -> None:
        self._pages[key] = body
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)


MEMO_LIMIT = 200_000


def _memo_for(current: tuple[int, dict[K, V]], revision: int) -> tuple[int, dict[K, V]]:
    """A newer revision starts an empty memo; an older one (a request that read the revision
    just before a bump) is answered with a throwaway memo by the caller, so it never
    evicts newer entries. Unknown SKU codes are remembered too, hence the size limit."""
    found, memo = current
    if revision > found or len(memo) > MEMO_LIMIT:
        return (max(revision, found), {})
    return current


def head_from_row(row: Any) -> PriceList:
    return PriceList(
        id=row.code,
        version=row.version,
        scope=Scope(row.scope),
        scope_key=row.scope_key,
        priority=row.priority,
        currency=row.currency,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        items={},
    )


_HEAD_COLUMNS = (
    PriceListVersion.id,
    PriceListVersion.code,
    PriceListVersion.version,
    PriceListVersion.scope,
    PriceListVersion.scope_key,
    PriceListVersion.priority,
    PriceListVersion.currency,
    PriceListVersion.effective_from,
    PriceListVersion.effective_to,
)


async def load_heads(executor: Executor, cache: PricingCache, revision: int) -> Heads:
    """Every published list (no items), cached for this revision."""
    cached = cache.heads(revision)
    if cached is not None:
        return cached
    stmt = select(*_HEAD_COLUMNS).where(PriceListVersion.status == PriceListStatus.PUBLISHED)
    rows = (await executor.execute(stmt)).all()
    heads = Heads(lists=tuple(head_from_row(r) for r in rows), row_ids={r.code: r.id for r in rows})
    cache.store_heads(revision, heads)
    return heads


async def load_dealer_facts(
    executor: Executor, cache: PricingCache, revision: int, dealer_id: uuid.UUID
) -> DealerFacts:
    """Tier, authorized regions with their ancestors, and segments of one dealer (cached)."""
    cached = cache.facts(revision, dealer_id)
    if cached is not None:
        return cached
    facts = await dealer_pricing_facts(executor, dealer_id)
    cache.store_facts(revision, dealer_id, facts)
    return facts


def candidate_lists(
    heads: Heads, dealer: DealerFacts, currency: str, now: datetime
) -> tuple[PriceList, ...]:
    """The in-effect published lists that apply to this dealer, best-ranked first."""
    return PriceResolver(heads.lists, dealer, currency, now).candidates


def sku_rule(row: Any) -> SkuRule:
    return SkuRule(
        code=row.code,
        name=row.name,
        pack_size=row.pack_size,
        min_qty=row.min_order_qty,
        whole_cases=row.whole_cases,
        active=is_active(row.status),
        id=getattr(row, "id", None),
    )


async def load_sku_rules(executor: Executor, codes: Iterable[str]) -> dict[str, SkuRule]:
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = (await executor.execute(sku_rules_select(wanted))).all()
    return {r.code: sku_rule(r) for r in rows}


async def load_sku_rules_cached(
    executor: Executor, cache: PricingCache, revision: int, codes: Iterable[str]
) -> dict[str, SkuRule]:
    """``load_sku_rules`` through the revision's memo: a warm cart issues no statement."""
    memo = cache.sku_rules(revision)
    wanted = set(codes)
    missing = [code for code in wanted if code not in memo]
    found = await load_sku_rules(executor, missing) if missing else {}
    for code in missing:
        memo[code] = found.get(code)
    out: dict[str, SkuRule] = {}
    for code in sorted(wanted):
        rule = memo.get(code)
        if rule is not None:
            out[code] = rule
    return out


def price_item(entry: Any, rule: SkuRule) -> PriceItem:
    return PriceItem(
        sku=entry.sku_code,
        unit_price=entry.unit_price,
        breaks=tuple(msgspec.convert(b, VolumeBreak) for b in entry.breaks or ()),
        break_kind=BreakKind(entry.break_kind),
        pack_size=rule.pack_size,
        whole_cases=rule.whole_cases,
        min_qty=rule.min_qty,
    )


async def _load_items(
    executor: Executor, row_ids: Iterable[uuid.UUID], rules: dict[str, SkuRule]
) -> dict[uuid.UUID, dict[str, PriceItem]]:
    """Items of the given list rows for the given SKUs, by row id, then SKU."""
    rows = list(row_ids)
    items: dict[uuid.UUID, dict[str, PriceItem]] = {row_id: {} for row_id in rows}
    stmt = select(
        PriceListEntry.price_list_id,
        PriceListEntry.sku_code,
        PriceListEntry.unit_price,
        PriceListEntry.break_kind,
        PriceListEntry.breaks,
    ).where(
        PriceListEntry.price_list_id.in_(rows),
        PriceListEntry.sku_code.in_(sorted(rules)),
    )
    for entry in (await executor.execute(stmt)).all():
        items[entry.price_list_id][entry.sku_code] = price_item(entry, rules[entry.sku_code])
    return items


async def load_lists_with_items(
    executor: Executor, heads: Heads, candidates: Sequence[PriceList], rules: dict[str, SkuRule]
) -> tuple[PriceList, ...]:
    """The candidate lists, each holding its items for the given SKUs only."""
    if not candidates or not rules:
        return tuple(candidates)
    by_row = {heads.row_ids[pl.id]: pl for pl in candidates}
    items = await _load_items(executor, by_row, rules)
    return tuple(msgspec.structs.replace(pl, items=items[row_id]) for row_id, pl in by_row.items())


async def load_lists_with_items_cached(
    executor: Executor,
    cache: PricingCache,
    revision: int,
    heads: Heads,
    candidates: Sequence[PriceList],
    rules: dict[str, SkuRule],
) -> tuple[PriceList, ...]:
    """``load_lists_with_items`` through the revision's memo (only unseen SKUs are read)."""
    if not candidates or not rules:
        return tuple(candidates)
    memo = cache.price_items(revision)
    by_row = {heads.row_ids[pl.id]: pl for pl in candidates}
    missing = {
        sku: rule for sku, rule in rules.items() if any((r, sku) not in memo for r in by_row)
    }
    loaded = await _load_items(executor, by_row, missing) if missing else {}
    out: list[PriceList] = []
    for row_id, pl in by_row.items():
        fresh = loaded.get(row_id, {})
        items: dict[str, PriceItem] = {}
        for sku in rules:
            if sku in missing:
                item = fresh.get(sku)
                memo[(row_id, sku)] = item
            else:
                item = memo.get((row_id, sku))
            if item is not None:
                items[sku] = item
        out.append(msgspec.structs.replace(pl, items=items))
    return tuple(out)


async def load_bundle_steps(
    executor: Executor, cache: PricingCache, revision: int
) -> tuple[FixedBundle, ...]:
    """Active bundles (``server.catalog``) as pipeline order steps, cached for this revision."""
    cached = cache.bundles(revision)
    if cached is not None:
        return cached
    steps = await active_bundles(executor)
    cache.store_bundles(revision, steps)
    return steps


async def load_promotion_steps(
    executor: Executor, cache: PricingCache, revision: int, currency: str
) -> PromotionSteps:
    """Every live price promotion as pipeline steps, cached for this revision.

    Publishing or archiving a promotion bumps the catalog revision; windows, tiers, regions,
    segments, dealers and pilot groups are checked by each step against the priced dealer
    and ``now``, so one cached set serves every dealer.
    """
    cached = cache.promotions(revision, currency)
    if cached is not None:
        return cached
    steps = await live_promotion_steps(executor, currency)
    cache.store_promotions(revision, currency, steps)
    return steps
