"""What a person reads, in zh-CN and English: one catalogue of codes and templates.

Programs keep the stable ``code``; people read the message. Every reason the server gives
(order review reasons and amendments, quote approval reasons, claim decision reasons,
validation failures, start-up refusals) is a code in :data:`CATALOGUE` with a zh-CN and an
English template whose ``{placeholders}`` are filled from the reason's parameters. The
language of a request follows ``Accept-Language`` (zh-CN unless the client ranks another
language first) and is held in a context variable for the request's duration; text that many
readers share (sync payloads, PDFs for both sides) carries both.

Imports nothing of ours and nothing heavy: the start-up shim uses it too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Literal, NamedTuple

from server.catalogue import ENTRIES

Language = Literal["zh", "en"]


class Text(NamedTuple):
    """A zh-CN and an English template."""

    zh: str
    en: str


_language: ContextVar[Language] = ContextVar("channelhub_language", default="zh")


def language_from_header(header: str | None) -> Language:
    """zh-CN unless Accept-Language ranks another language first."""
    if not header:
        return "zh"
    best_lang, best_q = "", -1.0
    for part in header.split(","):
        lang, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > best_q and lang:
            best_lang, best_q = lang.strip().lower(), q
    return "zh" if best_lang.startswith("zh") or best_lang in ("", "*") else "en"


def current_language() -> Language:
    """The language of the request being served (zh-CN outside a request)."""
    return _language.get()


def set_language(language: Language) -> None:
    """Set the language for the rest of this request's context."""
    _language.set(language)


def yuan(fen: int) -> str:
    """Fen as a price a person reads: ¥1,234.50."""
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def percent(bp: int) -> str:
    """Basis points as a percentage: 1463 -> 14.63%."""
    return f"{bp / 100:.2f}".rstrip("0").rstrip(".") + "%"


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def render(code: str, language: Language | None = None, /, **params: Any) -> str:
    """The code's message in ``language`` (the request's by default), parameters filled in."""
    text = CATALOGUE.get(code)
    if text is None:
        return code
    template = text.zh if (language or current_language()) == "zh" else text.en
    return template.format_map(_Lenient(params))  # a missing parameter reads "?"


def texts(code: str, /, **params: Any) -> Text:
    """The code's message in both languages, as a ``Text`` (zh, en)."""
    return Text(render(code, "zh", **params), render(code, "en", **params))


def stored(code: str, /, **params: Any) -> str:
    """Both texts in one string, ``zh / en``, for a stored text every reader sees alike."""
    text = texts(code, **params)
    return f"{text.zh} / {text.en}"


def both(code: str, /, **params: Any) -> dict[str, str]:
    """The code's message in both languages, for text many readers share."""
    return {"zh": render(code, "zh", **params), "en": render(code, "en", **params)}


def reason(code: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A reason a person reads: its code, the message in the request's language, and both."""
    values = dict(params or {})
    texts = both(code, **values)
    return {"code": code, "message": texts[current_language()], **texts}


CATALOGUE: dict[str, Text] = {code: Text(*texts) for code, texts in ENTRIES.items()}

_TYPE_ZH = {
    "str": "文本",
    "int": "整数",
    "float": "数字",
    "bool": "布尔值",
    "object": "对象",
    "array": "数组",
    "null": "空值",
    "bytes": "字节串",
}
_VALIDATION_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), code)
    for pattern, code in (
        (r"^Object contains unknown field `(?P<field>[^`]*)`", "field_unknown"),
        (r"^Object missing required field `(?P<field>[^`]*)`", "field_required"),
        (r"^Expected `(?P<expected>[^`]*)`, got `(?P<got>[^`]*)`", "type_mismatch"),
        (r"^Expected `[^`]*` of length >= (?P<limit>\d+)", "too_short"),
        (r"^Expected `[^`]*` of length <= (?P<limit>\d+)", "too_long"),
        (r"^Expected `[^`]*` >= (?P<limit>\S+)", "at_least"),
        (r"^Expected `[^`]*` > (?P<limit>\S+)", "above"),
        (r"^Expected `[^`]*` <= (?P<limit>\S+)", "at_most"),
        (r"^Expected `[^`]*` < (?P<limit>\S+)", "below"),
        (r"^Expected `[^`]*` that is a multiple of (?P<limit>\S+)", "multiple_of"),
        (r"^Expected `str` matching regex", "pattern"),
        (r"^Invalid enum value (?P<value>.*)", "enum"),
        (r"^Invalid UUID", "uuid"),
        (r"^Invalid RFC3339 encoded datetime", "datetime"),
        (r"^Invalid RFC3339 encoded date", "date"),
        (r"^Invalid RFC3339 encoded time", "time"),
        (r"out of range", "out_of_range"),
        (r"^Invalid base64", "base64"),
        (r"^'data'$", "body_missing"),
        (r"^(JSON is malformed|Input data was truncated)", "malformed"),
        (r"^Expected `(?P<expected>[^`]*)`$", "type_expected"),
    )
)


def validation_text(message: str) -> tuple[str, dict[str, str]]:
    """The catalogue code and parameters for a msgspec / Litestar validation message."""
    message = message.split(" - at `", 1)[0]
    for pattern, code in _VALIDATION_PATTERNS:
        match = pattern.search(message)
        if match:
            params = {k: v for k, v in match.groupdict().items() if v is not None}
            for key in ("expected", "got"):
                if key in params:
                    names = [n.strip() for n in params[key].split("|")]
                    params[f"{key}_zh"] = "或".join(_TYPE_ZH.get(n, n) for n in names)
                    params[key] = " or ".join(names)
            return f"validation.{code}", params
    return "validation.invalid", {}


def reason_codes() -> list[str]:
    """Every code in the catalogue (the bilingual test walks them)."""
    return sorted(CATALOGUE)
