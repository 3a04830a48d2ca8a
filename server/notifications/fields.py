"""WeChat's rules for subscription-message fields, applied before sending so that WeChat never
refuses a message for its content (errcode 47003).

A field's kind is its key without the trailing number (``thing1`` -> ``thing``). Each kind's
rule (mp.weixin.qq.com, 订阅消息参数值内容限制):

    thing             at most 20 characters                      -> truncated, "…" last
    phrase            at most 5 Chinese characters, nothing else -> non-Chinese dropped, cut
    number            at most 32 digits, may have a decimal point
    amount            currency symbol + at most 10 digits (decimals allowed), may end in 元
    date              a date, optionally with a 24-hour time     -> 2026年12月02日 14:05
    time              a 24-hour time, optionally with a date     -> 2026年12月02日 14:05
    character_string  at most 32 letters, digits or symbols      -> other characters dropped

Every rule returns a non-empty value: an empty field is refused too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

KINDS = ("thing", "phrase", "number", "amount", "date", "time", "character_string")
KEY_PATTERN = r"^(thing|phrase|number|amount|date|time|character_string)([1-9][0-9]?)$"
_KEY = re.compile(KEY_PATTERN)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_ASCII_SYMBOL = re.compile(r"[!-~]")
_DIGITS = re.compile(r"-?\d+(?:\.\d+)?")
_PLACEHOLDER = "-"


def field_kind(key: str) -> str | None:
    """The rule a template field key follows (``thing3`` -> ``thing``), None if unknown."""
    match = _KEY.match(key)
    return match.group(1) if match else None


def _thing(value: object, tz: ZoneInfo) -> str:
    text = " ".join(_printable(value).split())
    if len(text) > 20:
        text = text[:19] + "…"
    return text or _PLACEHOLDER


def _phrase(value: object, tz: ZoneInfo) -> str:
    return "".join(_HAN.findall(_printable(value)))[:5] or "通知"


def _number(value: object, tz: ZoneInfo) -> str:
    if isinstance(value, int):
        text = str(abs(value))
    else:
        match = _DIGITS.search(_printable(value).replace(",", ""))
        text = match.group(0).lstrip("-") if match else "0"
    return text[:32].rstrip(".") or "0"


def _amount(value: object, tz: ZoneInfo) -> str:
    """Integer fen as ¥yuan.fen; a larger amount than 10 digits shows whole yuan, capped."""
    if isinstance(value, int):
        fen = abs(value)
        text = f"{fen // 100}.{fen % 100:02d}"
        if len(text) - 1 > 10:
            text = str(min(fen // 100, 9_999_999_999))
        return f"¥{text}"
    return f"¥{_number(value, tz)[:10]}"


def _when(value: object, tz: ZoneInfo) -> str:
    """A time as WeChat's date/time wants it, in the brand's zone; unreadable: now."""
    moment = _moment(value) or datetime.now(tz)
    local = moment.astimezone(tz) if moment.tzinfo else moment
    return f"{local.year:04d}年{local.month:02d}月{local.day:02d}日 {local.hour:02d}:{local.minute:02d}"


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _character_string(value: object, tz: ZoneInfo) -> str:
    return "".join(_ASCII_SYMBOL.findall(_printable(value)))[:32] or _PLACEHOLDER


def _printable(value: object) -> str:
    text = "" if value is None else str(value)
    # Line breaks and tabs read as spaces; other control and format characters go.
    return "".join(
        " " if c.isspace() else c for c in text if c.isspace() or unicodedata.category(c)[0] != "C"
    )


_RULES: dict[str, Callable[[object, ZoneInfo], str]] = {
    "thing": _thing,
    "phrase": _phrase,
    "number": _number,
    "amount": _amount,
    "date": _when,
    "time": _when,
    "character_string": _character_string,
}


def field_value(key: str, value: object, tz: ZoneInfo) -> str:
    """``value`` shown as the template field ``key`` allows (truncated or reformatted)."""
    kind = field_kind(key)
    if kind is None:
        raise ValueError(f"unknown field kind {key!r}")
    return _RULES[kind](value, tz)
