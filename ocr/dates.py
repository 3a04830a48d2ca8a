"""Dates and clock times as receipts print them, Chinese, Asian, European and US styles."""

from __future__ import annotations

import datetime as dt
import re

from ocr.rowtext import ParsedRow

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
# OCR confuses o/0, l/1/I and s/5 in month names ("0ct", "Ju1"); accept and undo that.
_LOOKALIKES = {"o": "[o0]", "l": "[l1i]", "s": "[s5]"}
_MONTH_NAMES = "|".join(
    "".join(_LOOKALIKES.get(ch, ch) for ch in name)
    for name in sorted(_MONTHS, key=len, reverse=True)
)
_UNDO_LOOKALIKES = str.maketrans({"0": "o", "1": "l", "5": "s"})


def _month(text: str) -> int:
    name = text.lower().translate(_UNDO_LOOKALIKES)
    return _MONTHS.get(name) or _MONTHS[name.replace("i", "l")]


_DAY_END = r"(?:(?!\d)|(?=\d{1,2}:\d{2}))"  # "2026-11-2014:32" is a date glued to a time

_YMD = re.compile(
    rf"(?<!\d)(?P<y>(?:19|20)\d{{2}})\s?(?P<s1>[-/.年])\s?(?P<m>\d{{1,2}})\s?[-/.月]\s?(?P<d>\d{{1,2}})日?{_DAY_END}"
)
_DMY = re.compile(
    r"(?<![\d.])(?P<d>\d{1,2})\s?(?P<s1>[-/.])\s?(?P<m>\d{1,2})\s?(?P=s1)\s?(?P<y>(?:19|20)?\d{2})(?:(?!\d)|(?=\d{1,2}:\d{2}))"
)
_YMD2 = re.compile(r"(?<![\d.])(?P<y>\d{2})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日?")
_TEXT_DMY = re.compile(
    rf"(?<![\d])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?[\s\-/.]*(?P<mon>{_MONTH_NAMES})\.?[\s\-/.,]*(?P<y>(?:19|20)?\d{{2}}){_DAY_END}",
    re.IGNORECASE,
)
_TEXT_MDY = re.compile(
    rf"(?<![a-z])(?P<mon>{_MONTH_NAMES})\.?[\s\-/.]*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?[\s,\-/.]+(?P<y>(?:19|20)\d{{2}}|\d{{2}}){_DAY_END}",
    re.IGNORECASE,
)
_COMPACT = re.compile(
    r"(?<!\d)(?P<y>20\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?:(?!\d)|(?=\s?\d{1,2}:\d{2}))"
)
_DATE_WORDS = re.compile(r"日期|时间|時間|交易时间|销售时间|date|tarikh|time|dt\b", re.IGNORECASE)
_TIME = re.compile(
    r"(?<![\d:.])(?P<h>[01]?\d|2[0-3])\s?[:：]\s?(?P<mi>[0-5]\d)(?::(?P<s>[0-5]\d))?(?!\d)\s?(?P<ampm>[ap]\.?m\.?)?",
    re.IGNORECASE,
)


def _year(text: str) -> int:
    value = int(text)
    return value + 2000 if value < 100 else value


def _make_date(year: int, month: int, day: int) -> dt.date | None:
    if not 2000 <= year <= 2099:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def dates_in(
    text: str, *, month_first: bool = False, year_first: bool = False
) -> list[tuple[int, dt.date]]:
    """Every date written in `text`, with its position.

    Numeric dates with the year last are read day first (Asia, Europe) unless
    `month_first` (US receipts) or the day cannot be a month. `year_first` (Chinese
    receipts) reads a two-digit-year date "26-01-24" as year, month, day.
    """
    spans = _date_spans(text, month_first=month_first, year_first=year_first)
    return [(start, date) for start, _, date in spans]


def _date_spans(
    text: str, *, month_first: bool = False, year_first: bool = False
) -> list[tuple[int, int, dt.date]]:
    found: list[tuple[int, int, dt.date]] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, date: dt.date | None) -> None:
        if date is None or any(s < end and start < e for s, e in taken):
            return
        found.append((start, end, date))
        taken.append((start, end))

    for m in _YMD.finditer(text):
        add(m.start(), m.end(), _make_date(int(m["y"]), int(m["m"]), int(m["d"])))
    for m in _YMD2.finditer(text):
        add(m.start(), m.end(), _make_date(_year(m["y"]), int(m["m"]), int(m["d"])))
    for m in _TEXT_DMY.finditer(text):
        add(m.start(), m.end(), _make_date(_year(m["y"]), _month(m["mon"]), int(m["d"])))
    for m in _TEXT_MDY.finditer(text):
        add(m.start(), m.end(), _make_date(_year(m["y"]), _month(m["mon"]), int(m["d"])))
    for m in _DMY.finditer(text):
        day, month, year = int(m["d"]), int(m["m"]), _year(m["y"])
        if len(m["y"]) == 2 and int(m["d"]) > 31:
            continue
        if month_first:
            day, month = month, day
        date = None
        if year_first and len(m["y"]) == 2:  # 26-01-24 on a Chinese receipt: 2026-01-24
            date = _make_date(_year(m["d"]), month, int(m["y"]))
        date = date or _make_date(year, month, day)
        if date is None and day <= 12 < month:  # the other order is the only valid one
            date = _make_date(year, day, month)
        if date is None and len(m["y"]) == 2:  # 26/11/20 written year first
            date = _make_date(_year(m["d"]), month, int(m["y"]))
        add(m.start(), m.end(), date)
    for m in _COMPACT.finditer(text):
        add(m.start(), m.end(), _make_date(int(m["y"]), int(m["m"]), int(m["d"])))
    return sorted(found)


def times_in(text: str) -> list[tuple[int, dt.time]]:
    """Every clock time written in `text`, with its position."""
    found: list[tuple[int, dt.time]] = []
    for start, end, _ in _date_spans(text):  # "2026-11-2014:32": the date ends at "20"
        text = text[:start] + " " * (end - start) + text[end:]
    for m in _TIME.finditer(text):
        hour, minute = int(m["h"]), int(m["mi"])
        ampm = (m["ampm"] or "").lower().replace(".", "")
        if ampm == "pm" and hour < 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
        if hour < 24:
            found.append((m.start(), dt.time(hour, minute, int(m["s"] or 0))))
    return found


def find_date_time(
    rows: list[ParsedRow], *, month_first: bool = False, year_first: bool = False
) -> tuple[dt.date | None, dt.time | None, float]:
    """Transaction date and time: prefer a labelled row or one that also holds a time."""
    best: tuple[int, int, dt.date, float] | None = None
    for row in rows:
        found = dates_in(row.text, month_first=month_first, year_first=year_first)
        if not found:
            continue
        weight = 0
        if _DATE_WORDS.search(row.text):
            weight += 2
        if times_in(row.text):
            weight += 1
        if re.search(r"exp|有效期|到期|valid|截止|生产", row.text, re.IGNORECASE):
            weight -= 3
        if best is None or weight > best[0]:
            best = (weight, row.index, found[0][1], row.score)
    time: dt.time | None = None
    if best is not None:
        same = times_in(rows[best[1]].text)
        if same:
            time = same[0][1]
        elif best[1] + 1 < len(rows):
            nxt = times_in(rows[best[1] + 1].text)
            time = nxt[0][1] if nxt else None
    if time is None:
        for row in rows:
            if _DATE_WORDS.search(row.text) or dates_in(row.text):
                found_times = times_in(row.text)
                if found_times:
                    time = found_times[0][1]
                    break
    if best is None:
        return None, time, 0.0
    return best[2], time, best[3]
