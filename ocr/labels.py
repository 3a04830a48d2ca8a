"""Label vocabulary of real receipts (Chinese, English, Malay) and where labels sit in a row.

Every label found in a row governs the money printed after it, up to the next label, so
"合计 数量: 3 金额: 186.30" and "Total Sales (Incl GST) 31.27" are read correctly.
Longer, more specific wordings come first in the alternation so that "TOTAL QTY" is a
quantity label and "SUBTOTAL" never a total.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (pattern, kind, rank): rank orders total labels, higher = closer to what was paid.
_LABELS: tuple[tuple[str, str, int], ...] = (
    # wordings that mention tax without being a tax line
    (r"incl(?:usive|\.)?\s*(?:of\s*)?(?:gst|sst|vat|tax)", "neutral", 0),
    (r"(?:gst|sst|vat|tax)\s*incl(?:usive|uded|\.)?", "neutral", 0),
    (r"价税合计", "total", 2),
    (r"含税", "neutral", 0),
    # not totals
    (r"sub[\s\-]*total|小计|小計", "subtotal", 0),
    (r"total\s*(?:qty|quantity|items?|pcs|units?|count)|(?:qty|item)s?\s*total", "qty", 0),
    (
        r"no\.?\s*of\s*items?|item\s*count|总数量|商品数量|总件数|件数|数量合计|合计数量|数量",
        "qty",
        0,
    ),
    (
        r"total\s*(?:discount|savings?|saved)|you\s*saved?|discount|disc\b|优惠|折扣|节省|立减|减免|让利",
        "discount",
        0,
    ),
    (
        r"total\s*(?:excl(?:uding|usive|\.)?|before)\s*(?:of\s*)?(?:gst|sst|vat|tax)?|excl(?:uding|usive|\.)?\s*(?:of\s*)?(?:gst|sst|vat|tax)|未税|不含税",
        "excl",
        0,
    ),
    (
        r"round(?:ing)?\s*adj(?:ustment)?|rounding|adj(?:ustment)?\s*rounding|抹零|舍入|去零",
        "rounding",
        0,
    ),
    (
        r"rounded\s*total|total\s*(?:after\s*)?round(?:ed|ing)?|total\s*payable|amount\s*payable|grand\s*total|amount\s*due|total\s*due|balance\s*due|net+\s*total|net\s*amount|total\s*amount\s*payable|jumlah\s*besar",
        "total",
        3,
    ),
    (
        r"实付金额|实付款|实付|应付金额|应付款|应付|应收金额|应收款|应收|顾客应付|支付金额|付款金额|应结金额|实际支付|实际付款",
        "total",
        3,
    ),
    (r"change\s*due|change|找零|找赎|找續|找续|baki", "change", 0),
    (
        r"accepted\s*total|total\s*(?:tendered|received|accepted)|cash\s*tendered|tendered|amount\s*tendered|amount\s*paid|paid\s*amount|tender|现金支付|现金|cash|tunai|收现",
        "tendered",
        0,
    ),
    (r"实收金额|实收|收款", "total", 1),
    (
        r"(?:gst|sst|vat|service\s*tax|service\s*charge|svc\s*chg|tax)(?:\s*(?:@|\d+\s*%|amount|amt|payable))*|税额|税金|税率|服务费",
        "tax",
        0,
    ),
    (
        r"总计金额|合计金额|金额合计|消费金额|消费合计|总金额|总计|合计|合計|总额|總計|总价|应收合计|共计|total\s*amount|total\s*sales|total\s*\(?(?:rm|myr|usd)\)?|total|jumlah",
        "total",
        2,
    ),
    (r"金额|amount|amt", "same", 1),
)

_PATTERN = re.compile(
    "|".join(f"(?P<g{i}>{pattern})" for i, (pattern, _, _) in enumerate(_LABELS)),
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Label:
    """A label occurrence in a row."""

    start: int
    end: int
    kind: str
    rank: int
    text: str


def find_labels(text: str) -> list[Label]:
    """Labels in `text`, left to right (neutral wordings dropped)."""
    found: list[Label] = []
    for match in _PATTERN.finditer(text):
        name = match.lastgroup
        if name is None:
            continue
        _, kind, rank = _LABELS[int(name[1:])]
        # An English word must stand alone: "TOTAL" yes, "TOTALLY" or "SUBTOTAL" no.
        if match.group(0)[0].isascii() and match.group(0)[0].isalpha():
            before = text[match.start() - 1] if match.start() else " "
            after = text[match.end()] if match.end() < len(text) else " "
            if before.isascii() and before.isalpha():
                continue
            if after.isascii() and after.isalpha():
                continue
        if kind != "neutral":
            found.append(Label(match.start(), match.end(), kind, rank, match.group(0)))
    return found


def governing(labels: list[Label], position: int) -> Label | None:
    """The label that a value at `position` belongs to: the last one before it.

    A bare "金额"/"amount" continues the label before it ("合计 数量: 3 金额: 186.30"),
    skipping quantity labels; at the start of a row it stands for a weak total.
    """
    before = [label for label in labels if label.start < position]
    if not before:
        return None
    last = before[-1]
    if last.kind != "same":
        return last
    for label in reversed(before[:-1]):
        if label.kind not in {"same", "qty"}:
            return label
    return Label(last.start, last.end, "total", 1, last.text)
