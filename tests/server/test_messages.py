"""Every message a person reads exists in zh-CN and English, and reads like a sentence.

Three sources: the catalogue (every reason code: order review and amendments, quote approval,
claim decisions, import rows, validation, start-up), rendered with sample parameters; every
error raised in the code (an AST walk finds each ``raise Xxx("code", "zh", "en")`` of the
error tree, f-strings rendered with placeholders); and the pricing engine's own texts, made
for real: carts priced through every kind of explanation row and line error, configurations and
definitions breaking every rule, break tables with every issue (the same numbers in both).
"""

from __future__ import annotations

import ast
import importlib
import re
import string
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server import errors
from server.messages import CATALOGUE, Text, render, texts, validation_text
from server.pricing import (
    BreakIssue,
    BreakKind,
    BundleComponent,
    BuyXGetY,
    CartInvalid,
    CartLine,
    ConfigOption,
    ConfigurableProduct,
    ConfigurationInvalid,
    Constraint,
    FixedAmountOffLine,
    FixedBundle,
    InvalidBreakTable,
    LineError,
    OptionGroup,
    PercentOffLine,
    PricedCart,
    Scope,
    SettlementOptions,
    SpecialPriceLine,
    ThresholdDiscount,
    ThresholdTier,
    TieredThreshold,
    Violation,
    VolumeBreak,
    price_cart,
    validate_breaks,
)
from tests.pricing.factories import make_context, make_item, make_list

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
HAN = re.compile(r"[\u3400-\u9fff]")
ERROR_CLASSES = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.ChannelhubError)
}


# Lower-case Latin words a Chinese sentence may carry: formats and literal values to type.
ZH_MAY_NAME = {"range", "slab", "json", "csv", "xlsx"}


def sensible(code: str, zh: str, en: str, names: frozenset[str] = frozenset()) -> list[str]:
    """What is wrong with a pair of texts (empty when both read well)."""
    problems = []
    if not HAN.search(zh):
        problems.append(f"{code}: zh has no Chinese: {zh!r}")
    if CJK.search(en):
        problems.append(f"{code}: en has CJK: {en!r}")
    english = {
        w
        for w in re.findall(r"(?<![-\w])[a-z][a-z_]{2,}(?![-\w])", zh)
        if w not in ZH_MAY_NAME | names
    }
    if english:
        problems.append(f"{code}: zh mixes in English words {sorted(english)}: {zh!r}")
    for lang, text in (("zh", zh), ("en", en)):
        if "None" in text or text.strip() in ("", code) or "{" in text:
            problems.append(f"{code}: {lang} reads {text!r}")
    return problems


def sample(template: str) -> dict[str, str]:
    """A plausible value for each placeholder."""
    return {
        name: "12"
        for _, name, _, _ in string.Formatter().parse(template)
        if name  # pyright: ignore[reportUnnecessaryComparison]
    }


def test_every_catalogue_code_reads_well_in_both_languages() -> None:
    problems = []
    for code, text in CATALOGUE.items():
        params = {**sample(text.zh), **sample(text.en)}
        problems += sensible(code, render(code, "zh", **params), render(code, "en", **params))
    assert problems == []
    assert len(CATALOGUE) > 90


def _raise_sites() -> list[tuple[str, str, str, str]]:
    """(where, code, zh, en) for every error of the tree raised with literal texts."""
    sites = []
    for path in [*ROOT.glob("server/**/*.py"), *ROOT.glob("mini_program_api/**/*.py")]:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in ERROR_CLASSES or not node.args:
                continue
            texts = [_literal(a) for a in node.args[:3]]
            if texts[0] is None:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            code = texts[0]
            if len(texts) == 3 and texts[1] is not None and texts[2] is not None:
                sites.append((where, code, texts[1], texts[2]))
            elif len(node.args) == 1:
                error = getattr(errors, node.func.id)(code)
                sites.append((where, code, error.zh, error.en))
    return sites


def _literal(node: ast.expr) -> str | None:
    """A string constant, or an f-string with each expression shown as 12."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) else "12"
            for v in node.values
            if isinstance(v, ast.Constant | ast.FormattedValue)
        )
    return None


def test_every_error_raised_reads_well_in_both_languages() -> None:
    sites = _raise_sites()
    problems = [f"{where} {p}" for where, *texts in sites for p in sensible(*texts)]
    assert problems == []
    assert len({code for _, code, _, _ in sites}) > 100


def _field_error_items() -> list[tuple[str, bool, str | None, str | None]]:
    """(where, has English, zh, en) for every literal ``errors`` item naming a field and a
    message (the texts when they are literals, else None)."""
    items = []
    for path in [*ROOT.glob("server/**/*.py"), *ROOT.glob("mini_program_api/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Dict):
                continue
            keys = {
                k.value: v
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant)
            }
            if "key" in keys and "message" in keys:
                en = keys.get("message_en")
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                zh_text, en_text = _literal(keys["message"]), _literal(en) if en else None
                items.append((where, en is not None, zh_text, en_text))
    return items


def test_every_field_error_names_its_problem_in_both_languages() -> None:
    items = _field_error_items()
    problems = [
        f"{where}: no English beside {zh!r}" for where, has_en, zh, _ in items if not has_en
    ]
    problems += [
        f"{where} {p}"
        for where, _, zh, en in items
        if zh is not None and en is not None
        for p in sensible("field error", zh, en)
    ]
    assert problems == []
    assert len(items) > 15


@pytest.mark.parametrize(
    "library_text",
    [
        "Object contains unknown field `surprise`",
        "Object missing required field `name`",
        "Expected `int`, got `str`",
        "Expected `str | null`, got `int`",
        "Expected `str` of length <= 64",
        "Expected `array` of length >= 1",
        "Expected `int` >= 1",
        "Expected `int` <= 100",
        "Expected `str` matching regex '^[a-z]+$'",
        "Invalid enum value 'planet'",
        "Invalid UUID",
        "Invalid RFC3339 encoded date",
        "Invalid RFC3339 encoded datetime",
        "Integer value out of range",
        "'data'",
        "Something the table does not know",
    ],
)
def test_validation_messages_are_translated(library_text: str) -> None:
    code, params = validation_text(library_text + " - at `$.lines[0].qty`")
    names = frozenset(re.findall(r"\w+", " ".join(params.values())))  # field names, values
    assert sensible(code, render(code, "zh", **params), render(code, "en", **params), names) == []


async def test_validation_errors_answer_in_the_requests_language(
    client: AsyncTestClient[Litestar],
) -> None:
    body = {"username": "hq", "password": "x", "surprise": 1}
    zh = (await client.post("/auth/login", json=body)).json()
    en = (await client.post("/auth/login", json=body, headers={"Accept-Language": "en"})).json()
    assert zh["errors"][0]["code"] == en["errors"][0]["code"] == "field_unknown"
    assert zh["errors"][0]["message"] == "不允许的字段 surprise"
    assert en["errors"][0]["message"] == "Unknown field surprise"
    assert "reason" not in en  # no library text left under the English answer


async def test_not_found_titles_are_one_language(
    client: AsyncTestClient[Litestar], settings: object
) -> None:
    from server.settings import Settings
    from tests.factories import bearer, make_user

    assert isinstance(settings, Settings)
    from server.db.engine import Database

    db = Database(settings.database)
    try:
        admin = await make_user(db)
    finally:
        await db.dispose()
    missing = "/hq/dealers/00000000-0000-4000-8000-000000000000"
    zh = await client.get(missing, headers=bearer(settings, admin))
    en = await client.get(missing, headers={**bearer(settings, admin), "Accept-Language": "en"})
    assert (zh.json()["code"], zh.json()["title"]) == ("dealer_not_found", "经销商不存在")
    assert en.json()["title"] == "Dealer not found"


# --- Pricing: every explanation row, configuration violation and break issue -----------------

NUMBER = re.compile(r"\d+(?:\.\d+)?")
PRICING_MODULES = ("pipeline", "stacking", "promotions", "bundles", "settlement", "breaks")
# Codes, ids and option names of the carts below: data a Chinese text may quote.
PRICING_NAMES = frozenset(
    {"needs", "core", "water", "tea", "cola", "gold", "drinks", "flavour", "magic"}
)


def _pricing_carts() -> list[PricedCart]:
    """Carts that make every kind of explanation row at least once."""
    lists = [
        make_list(
            "PL-DEF",
            [
                make_item("A", 1000, breaks=[(10, 900)]),
                make_item("B", 500, breaks=[(5, 450), (10, 400)], kind=BreakKind.SLAB),
                make_item("W", 1000),
                make_item("T", 600),
                make_item("X", 300),
            ],
        ),
        make_list(
            "PL-TIER", [make_item("C", 2000, breaks=[(50, 1800)])], scope=Scope.TIER, key="core"
        ),
        make_list("PL-REG", {"D": 800}, scope=Scope.REGION, key="330100"),
        make_list("PL-OWN", {"E": 1200}, scope=Scope.DEALER, key="D1"),
    ]
    line_steps = [
        PercentOffLine(
            rule_id="P15",
            rule_version=1,
            skus=frozenset("A"),
            percent_off_bp=1500,
            exclusive_group="G",
        ),
        PercentOffLine(
            rule_id="P5",
            rule_version=1,
            skus=frozenset("A"),
            percent_off_bp=500,
            exclusive_group="G",
        ),
        PercentOffLine(
            rule_id="SOLO",
            rule_version=1,
            skus=frozenset("A"),
            percent_off_bp=1000,
            stackable=False,
            priority=-1,
        ),
        FixedAmountOffLine(rule_id="OFF", rule_version=1, skus=frozenset("D"), amount_off=100_000),
        SpecialPriceLine(rule_id="SP", rule_version=1, skus=frozenset("E"), unit_price=1000),
    ]
    first = price_cart(
        make_context(
            lists,
            line_steps=line_steps,
            order_steps=[
                ThresholdDiscount(
                    rule_id="TH", rule_version=1, currency="CNY", threshold=10_000, discount=500
                )
            ],
            settlement=SettlementOptions(
                rebate_balance=5_000, rebate_cap_bp=1_000, prepaid_balance=100_000
            ),
        ),
        [CartLine(sku=s, qty=q) for s, q in (("A", 12), ("B", 11), ("C", 3), ("D", 2), ("E", 4))],
    )
    bundle = FixedBundle(
        rule_id="BDL",
        rule_version=1,
        currency="CNY",
        bundle_price=1400,
        name="夏日组合",
        components=(BundleComponent(sku="W", qty=1), BundleComponent(sku="T", qty=1)),
        priority=9,
    )
    order_steps = [
        bundle,
        ThresholdDiscount(
            rule_id="EVERY",
            rule_version=1,
            currency="CNY",
            threshold=1_000,
            discount=100,
            repeat=True,
            priority=8,
        ),
        TieredThreshold(
            rule_id="TIERS",
            rule_version=1,
            currency="CNY",
            tiers=(
                ThresholdTier(threshold=2_000, discount=150),
                ThresholdTier(threshold=5_000, discount=400),
            ),
            priority=7,
        ),
        BuyXGetY(
            rule_id="BXG",
            rule_version=1,
            skus=frozenset("W"),
            buy_qty=2,
            gift_sku="X",
            gift_qty=1,
            max_gifts=2,
            priority=6,
        ),
        BuyXGetY(
            rule_id="BXG2",
            rule_version=1,
            skus=frozenset("T"),
            buy_qty=5,
            gift_sku="X",
            gift_qty=1,
            priority=5,
        ),
        ThresholdDiscount(
            rule_id="SAMEG1",
            rule_version=1,
            currency="CNY",
            threshold=100,
            discount=10,
            exclusive_group="OG",
            priority=4,
        ),
        ThresholdDiscount(
            rule_id="SAMEG2",
            rule_version=1,
            currency="CNY",
            threshold=100,
            discount=20,
            exclusive_group="OG",
            priority=3,
        ),
        ThresholdDiscount(
            rule_id="BIG", rule_version=1, currency="CNY", threshold=100, discount=10**9, priority=2
        ),
        ThresholdDiscount(
            rule_id="ALONE",
            rule_version=1,
            currency="CNY",
            threshold=100,
            discount=1,
            stackable=False,
            priority=1,
        ),
    ]
    second = price_cart(
        make_context(lists, order_steps=order_steps),
        [CartLine(sku="W", qty=7), CartLine(sku="T", qty=5)],
    )
    # Rebate: capped on the eligible lines (a category and promoted lines left out), not
    # chosen by the dealer, not allowed for the tier.
    rebate_carts = [
        price_cart(
            make_context(
                lists,
                order_steps=order_steps[:1],
                settlement=SettlementOptions(
                    rebate_balance=balance,
                    rebate_cap_bp=cap_bp,
                    use_rebate=use,
                    rebate_excluded_skus=frozenset({"T"}),
                    rebate_excluded_categories=("drinks",),
                    rebate_excludes_promoted=True,
                ),
            ),
            [CartLine(sku="W", qty=1), CartLine(sku="T", qty=1), CartLine(sku="A", qty=3)],
        )
        for balance, cap_bp, use in ((50_000, 2_000, True), (900, 0, True), (900, 2_000, False))
    ]
    return [first, second, *rebate_carts]


def _configuration_problems() -> list[Violation]:
    drinks = OptionGroup(
        code="drinks",
        name="饮料",
        min=1,
        max=2,
        options=tuple(ConfigOption(code=c, sku=c.upper()) for c in ("water", "tea", "cola")),
    )
    product = ConfigurableProduct(
        code="BOX",
        name="礼盒",
        groups=(drinks,),
        constraints=(
            Constraint(kind="excludes", option="cola", other="tea"),
            Constraint(kind="requires", option="water", other="gold"),
        ),
    )
    violations: list[Violation] = []
    for selected, units in ((["cola", "tea", "water", "water", "magic"], 0), ([], 1)):
        with pytest.raises(ConfigurationInvalid) as refused:
            product.configure(selected, units)
        violations += refused.value.violations
    broken = ConfigurableProduct(
        code="BROKEN",
        name="坏定义",
        groups=(
            OptionGroup(code="flavour", name="口味", min=3, max=1, options=drinks.options),
            drinks,
        ),
        constraints=(Constraint(kind="needs", option="gold", other="tea"),),
    )
    return violations + broken.check_definition()


def _break_issues() -> list[BreakIssue]:
    tables: list[tuple[int, list[VolumeBreak]]] = [
        (-1, []),
        (100, [VolumeBreak(min_qty=1, unit_price=-5, max_qty=None)]),
        (100, [VolumeBreak(min_qty=10, unit_price=120, max_qty=5)]),
        (100, [VolumeBreak(min_qty=20, unit_price=90), VolumeBreak(min_qty=10, unit_price=80)]),
        (100, [VolumeBreak(min_qty=10, unit_price=90), VolumeBreak(min_qty=10, unit_price=80)]),
        (
            100,
            [
                VolumeBreak(min_qty=10, unit_price=90, max_qty=30),
                VolumeBreak(min_qty=20, unit_price=80, max_qty=40),
                VolumeBreak(min_qty=50, unit_price=70, max_qty=60),
            ],
        ),
    ]
    return [issue for base, table in tables for issue in validate_breaks(base, table)]


def _line_errors() -> list[LineError]:
    """Every kind of cart line error, from one cart (the pipeline collects them all)."""
    lists = [
        make_list("PL-1", [make_item("A"), make_item("CASE", pack_size=6, whole_cases=True)]),
        make_list("PL-2", {"B": 900}, priority=1),
        make_list("PL-3", {"B": 800}, priority=1),
        make_list("PL-USD", {"U": 100}, currency="USD"),
        make_list("PL-MIN", [make_item("M", min_qty=10)]),
    ]
    cart = [("A", 1), ("A", 2), ("Z", 0), ("CASE", 4), ("B", 1), ("U", 1), ("GHOST", 1), ("M", 3)]
    with pytest.raises(CartInvalid) as invalid:
        price_cart(make_context(lists), [CartLine(sku=s, qty=q) for s, q in cart])
    return list(invalid.value.errors)


def _same_numbers(where: str, zh: str, en: str) -> list[str]:
    if set(NUMBER.findall(zh)) == set(NUMBER.findall(en)):
        return []
    return [f"{where}: numbers differ: {zh!r} / {en!r}"]


def test_every_pricing_text_reads_well_in_both_languages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    used: set[str] = set()

    def spy(code: str, /, **params: object) -> Text:
        used.add(code)
        return texts(code, **params)

    for name in PRICING_MODULES:
        monkeypatch.setattr(importlib.import_module(f"server.pricing.{name}"), "texts", spy)
    rows = [row for cart in _pricing_carts() for row in cart.explanation]
    pairs = [(f"{r.step}/{r.reason}/{r.rule_id}", r.message, r.message_en) for r in rows]
    pairs += [(f"cpq.{v.code}", v.message, v.message_en) for v in _configuration_problems()]
    issues = _break_issues()
    pairs += [(f"breaks.{i.code}@{i.row}", i.message, i.message_en) for i in issues]
    with pytest.raises(InvalidBreakTable) as invalid:
        make_item("A", 100, breaks=[(1, 120)])
    pairs.append((invalid.value.code, invalid.value.message, invalid.value.message_en))
    line_errors = _line_errors()
    assert {e.code for e in line_errors} == {
        "duplicate_sku",
        "quantity_not_positive",
        "quantity_not_pack_multiple",
        "quantity_below_minimum",
        "price_conflict",
        "currency_mismatch",
        "sku_not_priced",
    }
    pairs += [(f"{e.code}@{e.line}", e.message, e.message_en) for e in line_errors]

    problems = [p for where, zh, en in pairs for p in sensible(where, zh, en, PRICING_NAMES)]
    problems += [p for where, zh, en in pairs for p in _same_numbers(where, zh, en)]
    assert problems == []
    # Every pricing, configuration and break text of the catalogue was made above.
    wanted = {c for c in CATALOGUE if c.split(".")[0] in ("pricing", "cpq", "breaks")}
    assert wanted - used == set()
    assert {r.reason for r in rows} == {
        "applied",
        "capped",
        "not_reached",
        "not_chosen",
        "not_allowed",
        "skipped_exclusive_group",
        "skipped_not_stackable",
    }
    assert len(pairs) > 60
