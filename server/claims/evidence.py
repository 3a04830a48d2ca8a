"""Which OCR text boxes a receipt's fields were read from, so a reviewer sees them on the image.

The reader keeps fields and boxes apart; a field's box is the one whose text holds the field's
value (the total: the last such box, totals print below the lines they sum).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from server.claims.schemas import BoxOut

_NOT_DIGIT = re.compile(r"\D")


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _money_texts(fen: int) -> tuple[str, ...]:
    whole, cents = divmod(fen, 100)
    return (f"{whole}.{cents:02d}", f"{whole:,}.{cents:02d}")


def _date_digits(value: str) -> str:
    return _NOT_DIGIT.sub("", value)


def field_boxes(
    fields: dict[str, Any] | None,
    boxes: Sequence[BoxOut],
    matches: Sequence[dict[str, Any]] = (),
) -> dict[int, str]:
    """Box index -> field name (merchant, date, receipt_no, total, item) for the boxes read."""
    if not fields:
        return {}
    texts = [_compact(b.text) for b in boxes]
    found: dict[int, str] = {}

    def mark(name: str, test: Any, *, last: bool = False) -> None:
        order = range(len(texts) - 1, -1, -1) if last else range(len(texts))
        for i in order:
            if i not in found and texts[i] and test(texts[i]):
                found[i] = name
                return

    if fields.get("merchant"):
        merchant = _compact(str(fields["merchant"]))
        mark("merchant", lambda t: merchant in t or (len(t) >= 2 and t in merchant))
    if fields.get("receipt_no"):
        number = _compact(str(fields["receipt_no"]))
        mark("receipt_no", lambda t: number in t)
    if fields.get("date"):
        digits = _date_digits(str(fields["date"]))
        mark("date", lambda t: digits in _date_digits(t) or digits[2:] in _date_digits(t))
    if isinstance(fields.get("total"), int):
        money = _money_texts(fields["total"])
        mark("total", lambda t: any(m in t for m in money), last=True)
    for match in matches:
        if match.get("sku") and match.get("item_name"):
            name = _compact(str(match["item_name"]))
            mark("item", lambda t, name=name: name in t or (len(t) >= 3 and t in name))
    return found
