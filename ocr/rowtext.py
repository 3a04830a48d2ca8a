"""A row's normalised text with the labels and money amounts found in it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ocr.labels import Label, find_labels
from ocr.receipt import Row
from ocr.textnorm import MONEY, money_to_minor, normalize


@dataclass(frozen=True, slots=True)
class Money:
    """A money amount found in a row's text."""

    value: int
    start: int
    end: int
    currency: str | None
    explicit: bool  # has a decimal part or a currency mark


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """A row's normalised text with what the parsers need from it."""

    index: int
    text: str
    score: float
    labels: list[Label]
    money: list[Money]


_DATE_SPANS = re.compile(
    r"\d{2,4}\s?[-/.年]\s?\d{1,2}\s?[-/.月]\s?\d{1,4}日?|\d{1,2}:\d{2}(?::\d{2})?"
)


def find_money(text: str) -> list[Money]:
    """Money amounts in `text`, skipping dates, times, percentages and bare integers."""
    masked = _DATE_SPANS.sub(lambda m: " " * len(m.group(0)), text)
    found: list[Money] = []
    for match in MONEY.finditer(masked):
        frac = match.group("frac")
        cur = match.group("cur")
        yuan = match.group("yuan")
        tail = masked[match.end() : match.end() + 2]
        if tail.strip().startswith("%"):
            continue
        if frac is None and cur is None and yuan is None:
            continue  # plain integers are quantities, codes or counts
        if frac is not None and len(frac) == 1 and cur is None:
            continue  # "1.5" without a currency is more often a weight or a size
        value = money_to_minor(match.group("int"), frac)
        if match.group("neg") or match.group("trail"):
            value = -value
        currency = "CNY" if yuan else cur
        found.append(Money(value, match.start(), match.end(), currency, True))
    return found


def parse_rows(rows: list[Row]) -> list[ParsedRow]:
    """Normalise each row and locate its labels and money."""
    parsed: list[ParsedRow] = []
    for index, row in enumerate(rows):
        text = normalize(" ".join(cell.text for cell in row.cells))
        parsed.append(ParsedRow(index, text, row.score, find_labels(text), find_money(text)))
    return parsed
