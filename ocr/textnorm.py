"""Text normalisation shared by the parsers: width, spacing and money tokens."""

from __future__ import annotations

import re
import unicodedata

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC (full-width to ASCII, ￥ to ¥), one space between words, none between hanzi."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u3000", " ").replace("−", "-").replace("—", "-").replace("–", "-")
    text = _SPACES.sub(" ", text).strip()
    return _CJK_GAP.sub("", text)


def has_cjk(text: str) -> bool:
    """True when the text holds any Chinese character."""
    return _CJK_CHAR.search(text) is not None


def compact(text: str) -> str:
    """Casefolded text without spaces or punctuation, for comparing names."""
    return "".join(ch for ch in normalize(text).casefold() if ch.isalnum())


# A money amount: thousands separators, a decimal point or comma with 1-2 digits, an
# optional sign or parentheses; integers count only next to a currency mark or 元.
MONEY = re.compile(
    r"(?P<neg>-\s?|\()?"
    r"(?P<cur>RM|S\$|HK\$|NT\$|US\$|RMB|CNY|MYR|USD|[¥$€£])?\s?"
    r"(?<![\d.,])"
    r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)"
    r"(?:(?P<sep>[.,])(?P<frac>\d{1,2}))?"
    r"(?![\d]|[.,]\d)"
    r"(?P<yuan>\s?元)?"
    r"(?P<trail>-(?![\d]))?",
)


def money_to_minor(integer: str, fraction: str | None) -> int:
    """'1,234' + '5' -> 123450 (minor units)."""
    whole = int(integer.replace(",", ""))
    frac = (fraction or "").ljust(2, "0")[:2]
    return whole * 100 + int(frac)


def format_minor(value: int) -> str:
    """18630 -> '186.30'."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 100}.{value % 100:02d}"
