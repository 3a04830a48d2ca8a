"""The rule every text a client sends obeys, stated once: a length that fits its column and
no control characters.

Request structs never write a bare ``str``: they use ``one_line(n)`` (one line: names, codes,
keys) or ``multi_line(n)`` (multi-line: notes, comments, reasons, addresses), where ``n`` is the
column's size. Both refuse NUL (PostgreSQL cannot store it), the other C0 controls, DEL, the
C1 controls and lone surrogates (not encodable as UTF-8); ``multi_line`` keeps tab, LF and CR.
The rules are ``msgspec.Meta`` patterns, so a violation is refused while the body is decoded
(422, naming the field) and the OpenAPI document carries them. msgspec applies a pattern
with ``re.search``; the negative lookahead anchored at the start reads the same in Python and
ECMAScript and is not fooled by a trailing newline, as ``$`` would be.
"""

from __future__ import annotations

import msgspec

__all__ = [
    "LINE_RULE",
    "TEXT_RULE",
    "describe_violation",
    "multi_line",
    "one_line",
]

_NEVER = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
LINE_RULE = rf"^(?![\s\S]*[\t\n\r{_NEVER}])"
TEXT_RULE = rf"^(?![\s\S]*[{_NEVER}])"


def one_line(max_length: int, *, min_length: int = 0, pattern: str | None = None) -> msgspec.Meta:
    """One line of at most ``max_length`` characters, optionally also matching ``pattern``."""
    rule = LINE_RULE + (pattern or "").removeprefix("^")
    return msgspec.Meta(min_length=min_length, max_length=max_length, pattern=rule)


def multi_line(max_length: int, *, min_length: int = 0) -> msgspec.Meta:
    """Multi-line text of at most ``max_length`` characters (tab and newlines allowed)."""
    return msgspec.Meta(min_length=min_length, max_length=max_length, pattern=TEXT_RULE)


_CONTROL = (
    "control_characters",
    "不能包含控制字符（如 NUL、换行符）",
    "must not contain control characters (such as NUL or line breaks)",
)
_CONTROL_TEXT = (
    "control_characters",
    "不能包含控制字符（如 NUL）",
    "must not contain control characters (such as NUL)",
)


def describe_violation(message: str) -> tuple[str, str, str] | None:
    """(code, zh-CN, English) for a decoder message that reports one of these rules."""
    if f"matching regex {LINE_RULE!r}" in message:
        return _CONTROL
    if f"matching regex {TEXT_RULE!r}" in message:
        return _CONTROL_TEXT
    return None
