"""Price-list resolution: which list prices a SKU for a dealer.

A list is a candidate when its scope matches the dealer (``default`` always; ``tier`` when
``scope_key == dealer.tier``; ``region`` when ``scope_key`` is one of the dealer's region
codes, ancestors included; ``dealer`` when ``scope_key == dealer.id``), it is in effect at
``now`` (``effective_from <= now < effective_to``) and it is in the cart's currency.

Candidates rank by ``(scope rank, region depth, priority)``, higher first: dealer > region >
tier > default; among region lists the deeper (more specific) region wins; then the higher
priority. The best-ranked candidate that has the SKU prices it. Two or more candidates with
the same rank that have the SKU is a configuration error: ``PriceConflict``, never a coin
toss. ``find_conflicts`` finds the same situation at publish time, over any set of lists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from server.pricing.errors import CurrencyMismatch, PriceConflict, RuleRef, SkuNotPriced
from server.pricing.model import DealerFacts, PriceItem, PriceList, Scope

SCOPE_RANK: dict[Scope, int] = {Scope.DEFAULT: 0, Scope.TIER: 1, Scope.REGION: 2, Scope.DEALER: 3}

Rank = tuple[int, int, int]


class ResolvedPrice(msgspec.Struct, frozen=True, kw_only=True):
    """The list that prices a SKU for a dealer, and its item."""

    price_list: PriceList
    item: PriceItem


class PriceConflictReport(msgspec.Struct, frozen=True, kw_only=True):
    """A SKU priced by equally-ranked lists whose effective windows overlap."""

    sku: str
    scope: Scope
    scope_key: str | None
    priority: int
    currency: str
    lists: tuple[RuleRef, ...]


def in_effect(price_list: PriceList, now: datetime) -> bool:
    """Whether ``now`` lies in the list's half-open effective window."""
    start = price_list.effective_from
    end = price_list.effective_to
    return (start is None or start <= now) and (end is None or now < end)


def rank_for(
    price_list: PriceList, dealer: DealerFacts, region_depths: dict[str, int]
) -> Rank | None:
    """The list's rank for this dealer, or ``None`` if its scope does not match."""
    scope = price_list.scope
    key = price_list.scope_key
    if scope is Scope.DEFAULT:
        depth = 0
    elif scope is Scope.TIER:
        if key != dealer.tier:
            return None
        depth = 0
    elif scope is Scope.DEALER:
        if key != dealer.id:
            return None
        depth = 0
    else:
        found = region_depths.get(key) if key is not None else None
        if found is None:
            return None
        depth = found
    return (SCOPE_RANK[scope], depth, price_list.priority)


class PriceResolver:
    """Resolves SKUs for one dealer, currency and moment; build once per cart."""

    __slots__ = ("_currency", "_foreign", "_ranked")

    def __init__(
        self,
        price_lists: Iterable[PriceList],
        dealer: DealerFacts,
        currency: str,
        now: datetime,
    ) -> None:
        region_depths: dict[str, int] = {}
        for region in dealer.regions:
            region_depths[region.code] = max(region.depth, region_depths.get(region.code, -1))
        ranked: list[tuple[Rank, PriceList]] = []
        foreign: list[PriceList] = []
        for price_list in price_lists:
            if not in_effect(price_list, now):
                continue
            rank = rank_for(price_list, dealer, region_depths)
            if rank is None:
                continue
            if price_list.currency == currency:
                ranked.append((rank, price_list))
            else:
                foreign.append(price_list)
        # Ties keep a stable order by id so conflict reports read the same every time.
        ranked.sort(key=lambda pair: (tuple(-part for part in pair[0]), pair[1].id))
        self._ranked = ranked
        self._foreign = foreign
        self._currency = currency

    @property
    def candidates(self) -> tuple[PriceList, ...]:
        """Matching, in-effect lists in the cart's currency, best-ranked first."""
        return tuple(price_list for _, price_list in self._ranked)

    def resolve(self, sku: str, line: int = -1) -> ResolvedPrice:
        """The winning list and item for ``sku``; raises a ``LineError`` for ``line``."""
        best_rank: Rank | None = None
        winner: ResolvedPrice | None = None
        tied: list[PriceList] = []
        for rank, price_list in self._ranked:
            if best_rank is not None and rank != best_rank:
                break
            item = price_list.items.get(sku)
            if item is None:
                continue
            if winner is None:
                best_rank = rank
                winner = ResolvedPrice(price_list=price_list, item=item)
            tied.append(price_list)
        if winner is None:
            found = sorted({pl.currency for pl in self._foreign if sku in pl.items})
            if found:
                raise CurrencyMismatch(line=line, sku=sku, currency=self._currency, found=found)
            raise SkuNotPriced(line=line, sku=sku)
        if len(tied) > 1:
            raise PriceConflict(line=line, sku=sku, lists=[pl.ref for pl in tied])
        return winner


def resolve_price(
    price_lists: Iterable[PriceList],
    dealer: DealerFacts,
    currency: str,
    now: datetime,
    sku: str,
) -> ResolvedPrice:
    """Resolve one SKU (convenience over ``PriceResolver``)."""
    return PriceResolver(price_lists, dealer, currency, now).resolve(sku)


def _windows_overlap(a: PriceList, b: PriceList) -> bool:
    a_starts_before_b_ends = b.effective_to is None or (
        a.effective_from is None or a.effective_from < b.effective_to
    )
    b_starts_before_a_ends = a.effective_to is None or (
        b.effective_from is None or b.effective_from < a.effective_to
    )
    return a_starts_before_b_ends and b_starts_before_a_ends


def find_conflicts(price_lists: Sequence[PriceList]) -> list[PriceConflictReport]:
    """Every SKU that two equally-ranked lists (same scope, key, priority, currency, with
    overlapping effective windows) both price, with the lists involved; for publish time.

    Sorted by SKU, then scope. Lists in different regions of the same depth are not compared
    here (no dealer is known); ``PriceResolver`` still refuses them for a dealer in both.
    """
    groups: dict[tuple[Scope, str | None, int, str], list[PriceList]] = defaultdict(list)
    for price_list in price_lists:
        key = (price_list.scope, price_list.scope_key, price_list.priority, price_list.currency)
        groups[key].append(price_list)
    reports: list[PriceConflictReport] = []
    for (scope, scope_key, priority, currency), members in groups.items():
        if len(members) < 2:
            continue
        involved: dict[str, dict[tuple[str, int], RuleRef]] = defaultdict(dict)
        for i, first in enumerate(members):
            for second in members[i + 1 :]:
                if not _windows_overlap(first, second):
                    continue
                for sku in first.items.keys() & second.items.keys():
                    refs = involved[sku]
                    refs[(first.id, first.version)] = first.ref
                    refs[(second.id, second.version)] = second.ref
        for sku, refs in involved.items():
            reports.append(
                PriceConflictReport(
                    sku=sku,
                    scope=scope,
                    scope_key=scope_key,
                    priority=priority,
                    currency=currency,
                    lists=tuple(refs[key] for key in sorted(refs)),
                )
            )
    reports.sort(key=lambda r: (r.sku, SCOPE_RANK[r.scope], r.scope_key or "", r.priority))
    return reports
