"""Every message a person reads exists in zh-CN and English, and reads like a sentence.

Two sources: the catalogue (every reason code: order review and amendments, quote approval,
claim decisions, import rows, validation, start-up), rendered with sample parameters; and
every error raised in the code (an AST walk finds each ``raise Xxx("code", "zh", "en")`` of
the error tree, f-strings rendered with placeholders).
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server import errors
from server.messages import CATALOGUE, render, validation_text

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
