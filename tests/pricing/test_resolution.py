from __future__ import annotations

from datetime import timedelta

import pytest

from server.pricing import (
    CurrencyMismatch,
    DealerFacts,
    PriceConflict,
    PriceList,
    PriceResolver,
    RegionCode,
    RuleRef,
    Scope,
    SkuNotPriced,
    find_conflicts,
    resolve_price,
)
from tests.pricing.factories import NOW, make_dealer, make_list

DEALER = make_dealer("D1", tier="core", regions=("330000", "330100"))


def winner(*lists: PriceList, sku: str = "A") -> str:
    resolved = resolve_price(lists, DEALER, "CNY", NOW, sku)
    return resolved.price_list.id


def test_more_specific_scope_wins_whatever_the_priority() -> None:
    default = make_list("default", {"A": 100}, priority=99)
    tier = make_list("tier", {"A": 90}, scope=Scope.TIER, key="core", priority=5)
    region = make_list("region", {"A": 80}, scope=Scope.REGION, key="330000", priority=1)
    dealer = make_list("dealer", {"A": 70}, scope=Scope.DEALER, key="D1")
    assert winner(default) == "default"
    assert winner(default, tier) == "tier"
    assert winner(default, tier, region) == "region"
    assert winner(default, tier, region, dealer) == "dealer"


def test_lists_for_others_do_not_match() -> None:
    other_tier = make_list("growth", {"A": 10}, scope=Scope.TIER, key="growth")
    other_region = make_list("hz", {"A": 10}, scope=Scope.REGION, key="320000")
    other_dealer = make_list("d2", {"A": 10}, scope=Scope.DEALER, key="D2")
    default = make_list("default", {"A": 100})
    assert winner(default, other_tier, other_region, other_dealer) == "default"


def test_higher_priority_wins_within_a_scope() -> None:
    low = make_list("low", {"A": 100}, scope=Scope.TIER, key="core", priority=1)
    high = make_list("high", {"A": 90}, scope=Scope.TIER, key="core", priority=2)
    assert winner(low, high) == "high"
    assert winner(high, low) == "high"


def test_sku_falls_through_to_a_less_specific_list() -> None:
    dealer = make_list("dealer", {"B": 70}, scope=Scope.DEALER, key="D1")
    default = make_list("default", {"A": 100})
    assert winner(dealer, default, sku="A") == "default"
    assert winner(dealer, default, sku="B") == "dealer"


def test_city_list_beats_province_list_and_province_matches_a_city_dealer() -> None:
    province = make_list("zj", {"A": 90, "B": 95}, scope=Scope.REGION, key="330000", priority=9)
    city = make_list("hz", {"A": 80}, scope=Scope.REGION, key="330100")
    assert winner(province, city, sku="A") == "hz"
    assert winner(province, city, sku="B") == "zj"


def test_region_depth_can_be_given_as_a_set_with_depth() -> None:
    dealer = DealerFacts(
        id="D9",
        tier="watch",
        regions=(RegionCode(code="330100", depth=1), RegionCode(code="330000", depth=0)),
    )
    province = make_list("zj", {"A": 90}, scope=Scope.REGION, key="330000")
    city = make_list("hz", {"A": 80}, scope=Scope.REGION, key="330100")
    assert resolve_price([province, city], dealer, "CNY", NOW, "A").price_list.id == "hz"


def test_equal_rank_is_a_conflict_not_a_coin_toss() -> None:
    first = make_list("first", {"A": 100}, scope=Scope.TIER, key="core", priority=3)
    second = make_list("second", {"A": 90, "B": 1}, scope=Scope.TIER, key="core", priority=3)
    with pytest.raises(PriceConflict) as caught:
        winner(second, first)
    assert caught.value.code == "price_conflict"
    assert caught.value.lists == (RuleRef(id="first", version=1), RuleRef(id="second", version=1))
    # A SKU only one of them has is fine.
    assert winner(first, second, sku="B") == "second"


def test_conflict_below_the_winner_does_not_matter() -> None:
    first = make_list("first", {"A": 100})
    second = make_list("second", {"A": 90})
    dealer = make_list("dealer", {"A": 70}, scope=Scope.DEALER, key="D1")
    assert winner(first, second, dealer) == "dealer"


def test_dealer_in_two_provinces_with_two_province_lists_is_a_conflict() -> None:
    dealer = DealerFacts(
        id="D2",
        tier="core",
        regions=(RegionCode(code="330000", depth=0), RegionCode(code="320000", depth=0)),
    )
    zj = make_list("zj", {"A": 90}, scope=Scope.REGION, key="330000")
    js = make_list("js", {"A": 80}, scope=Scope.REGION, key="320000")
    with pytest.raises(PriceConflict):
        resolve_price([zj, js], dealer, "CNY", NOW, "A")


def test_effective_window_is_half_open() -> None:
    hour = timedelta(hours=1)
    default = make_list("default", {"A": 100})
    future = make_list("future", {"A": 1}, scope=Scope.DEALER, key="D1", effective_from=NOW + hour)
    ended = make_list("ended", {"A": 2}, scope=Scope.DEALER, key="D1", effective_to=NOW)
    starts_now = make_list(
        "now", {"A": 3}, scope=Scope.TIER, key="core", effective_from=NOW, effective_to=NOW + hour
    )
    assert winner(default, future, ended) == "default"
    assert winner(default, future, ended, starts_now) == "now"


def test_unknown_sku_and_other_currency_errors() -> None:
    usd = make_list("usd", {"B": 15}, currency="USD")
    cny = make_list("cny", {"A": 100})
    resolver = PriceResolver([usd, cny], DEALER, "CNY", NOW)
    with pytest.raises(SkuNotPriced) as missing:
        resolver.resolve("Z", line=4)
    assert (missing.value.code, missing.value.line, missing.value.sku) == ("sku_not_priced", 4, "Z")
    with pytest.raises(CurrencyMismatch) as mismatch:
        resolver.resolve("B", line=1)
    assert mismatch.value.code == "currency_mismatch"
    assert mismatch.value.found == ("USD",)
    assert [pl.id for pl in resolver.candidates] == ["cny"]


def test_find_conflicts_reports_every_sku_with_the_lists_involved() -> None:
    a = make_list("a", {"X": 1, "Y": 1, "Z": 1}, scope=Scope.TIER, key="core", priority=1)
    b = make_list("b", {"X": 2, "Y": 2}, scope=Scope.TIER, key="core", priority=1)
    c = make_list("c", {"Y": 3}, scope=Scope.TIER, key="core", priority=1)
    other_priority = make_list("d", {"X": 4}, scope=Scope.TIER, key="core", priority=2)
    other_tier = make_list("e", {"X": 5}, scope=Scope.TIER, key="growth", priority=1)
    other_currency = make_list(
        "f", {"X": 5}, scope=Scope.TIER, key="core", currency="USD", priority=1
    )
    reports = find_conflicts([a, b, c, other_priority, other_tier, other_currency])
    found = {r.sku: [ref.id for ref in r.lists] for r in reports}
    assert found == {"X": ["a", "b"], "Y": ["a", "b", "c"]}
    assert all(r.scope is Scope.TIER and r.scope_key == "core" for r in reports)


def test_find_conflicts_ignores_lists_whose_windows_do_not_overlap() -> None:
    hour = timedelta(hours=1)
    old = make_list("old", {"X": 1}, effective_to=NOW)
    new = make_list("new", {"X": 2}, effective_from=NOW)
    assert find_conflicts([old, new]) == []
    overlapping = make_list("over", {"X": 3}, effective_from=NOW - hour, effective_to=NOW + hour)
    assert [[ref.id for ref in r.lists] for r in find_conflicts([old, new, overlapping])] == [
        ["new", "old", "over"]
    ]
