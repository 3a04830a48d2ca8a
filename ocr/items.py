"""Line items: name, quantity, unit price and amount, from the rows above the total.

Handles one-row items ("可口可乐500ml 2 x 3.50 7.00", "KOPI O 2 1.20 2.40 SR"), two-row
items (name, then "6901234567890 2 3.50 7.00"), either column order of quantity and unit
price, weights ("0.532kg x 12.80"), trailing tax codes and leading quantities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ocr.receipt import LineItem
from ocr.rowtext import ParsedRow
from ocr.textnorm import has_cjk

_TIMES = re.compile(r"(?<=\d)\s*[x×X*@]\s*(?=[¥$]?\d)|(?<=\d)\s+[x×X*@](?=\s)")
_NUMBER = re.compile(
    r"^(?P<neg>-)?(?:[¥$€£]|RM)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<unit>kg|g|l|ml|pcs|pc|ea|件|个|瓶|包|盒|袋|支|只|斤|份|杯|听|罐|箱|条)?(?P<neg2>-)?$",
    re.IGNORECASE,
)
_TAX_CODE = re.compile(r"^(?:SR|ZR|Z|T|S|E|A|B|N|X|\*|#)$")
_OPERATOR = {"x", "X", "×", "*", "@"}
_BARCODE = re.compile(r"^\d{8,14}$")
_HEADER_WORDS = re.compile(
    r"品名|商品名称|商品|名称|货号|数量|单价|金额|小计|条码|description|item|qty|quantity|price|"
    r"amount|total|u/p|unit",
    re.IGNORECASE,
)
_NOT_ITEM = re.compile(
    r"单号|流水|日期|时间|收银|机号|台号|会员|电话|地址|积分|找零|现金|支付|刷卡|微信|支付宝|"
    r"date|time|cashier|tel|fax|member|points|invoice|receipt|change|cash|tender|visa|card|gst\s*reg",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _Num:
    value: Decimal
    text: str
    decimals: int
    unit: str | None


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _split(text: str) -> tuple[str, list[_Num], bool, str | None]:
    """Split a row into (name, trailing numbers, saw an x/@ operator, barcode)."""
    text = _TIMES.sub(" x ", text)
    tokens = text.split()
    barcode: str | None = None
    if tokens and _BARCODE.match(tokens[0]):
        barcode = tokens.pop(0)
    numbers: list[_Num] = []
    operator = False
    while tokens:
        token = tokens[-1].strip(":：,")
        if token in _OPERATOR:
            operator = True
            tokens.pop()
            continue
        if _TAX_CODE.match(token) and len(tokens) > 1 and _NUMBER.match(tokens[-2]):
            tokens.pop()
            continue
        match = _NUMBER.match(token)
        if match is None:
            break
        raw = match["num"].replace(",", "")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            break
        if match["neg"] or match["neg2"]:
            value = -value
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        numbers.insert(0, _Num(value, token, decimals, match["unit"]))
        tokens.pop()
    while len(numbers) > 3:  # "SHOES KWD 805 1 170.00 170.00": 805 belongs to the name
        tokens.append(numbers.pop(0).text)
    if barcode is None:
        for i, token in enumerate(tokens):
            if _BARCODE.match(token):
                barcode = tokens.pop(i)
                break
    return " ".join(tokens).strip(" -:：*"), numbers, operator, barcode


def _cents(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


def _close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= Decimal("0.011") + abs(b) * Decimal("0.001")


def _qty_price(
    numbers: list[_Num], operator: bool
) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """(quantity, unit price, amount) from a row's trailing numbers."""
    if not numbers:
        return None, None, None
    amount_num = numbers[-1]
    amount = amount_num.value
    if amount_num.decimals == 0 and amount_num.unit is None and len(numbers) == 1:
        return None, None, None  # a lone integer is a code or count, not money
    rest = numbers[:-1][-2:]
    if len(rest) == 2:
        a, b = rest
        if _close(a.value * b.value, amount):
            # The quantity is the one written without a decimal point, with a unit, or
            # with three decimals (weights); otherwise the one with a whole value.
            def qty_likeness(n: _Num) -> int:
                return (
                    (n.unit is not None) * 4
                    + (n.decimals == 0) * 3
                    + (n.decimals == 3) * 2
                    + (n.value == n.value.to_integral_value()) * 1
                )

            qty, price = (a, b) if qty_likeness(a) >= qty_likeness(b) else (b, a)
            return qty.value, price.value, amount
        # Columns that do not multiply: take quantity and price as printed.
        return a.value, b.value, amount
    if len(rest) == 1:
        only = rest[0]
        if only.value != 0 and (only.decimals == 0 or only.unit is not None):
            price = amount / only.value
            return only.value, price.quantize(Decimal("0.01")), amount
        if only.value != 0:
            qty = amount / only.value
            if qty == qty.to_integral_value():
                return qty, only.value, amount
        return None, only.value, amount
    return None, None, amount


def _is_header(row: ParsedRow) -> bool:
    has_digit = any(ch.isdigit() for ch in row.text)
    return len(_HEADER_WORDS.findall(row.text)) >= 2 and not row.money and not has_digit


def parse_items(rows: list[ParsedRow]) -> list[LineItem]:
    """Line items between the header and the first total, subtotal or tender row.

    Why long: the rows are read in one pass that carries a name row over to the numbers on the
    next row (``pending``); the number rules are apart (``_split``, ``_qty_price``).
    """
    stop = len(rows)
    for row in rows:
        kinds = {label.kind for label in row.labels}
        # "CASH SALES" or "TAX INVOICE" in the header are headings, not the footer.
        money_footer = bool(kinds & {"subtotal", "tendered", "change", "rounding"}) and bool(
            row.money
        )
        if money_footer or (
            "total" in kinds and (row.money or any(label.rank >= 2 for label in row.labels))
        ):
            stop = row.index
            break
    start = 0
    for row in rows[:stop]:
        if _is_header(row):
            start = row.index + 1
    items: list[LineItem] = []
    pending: ParsedRow | None = None
    for row in rows[start:stop]:
        name, numbers, operator, barcode = _split(row.text)
        has_name = _letters(name) >= 1 and (has_cjk(name) or _letters(name) >= 2)
        # The amount is the last number and has two decimals; "175G" is a pack size.
        money_like = numbers and numbers[-1].decimals == 2 and numbers[-1].unit is None
        if _NOT_ITEM.search(row.text) or (row.labels and not has_name):
            pending = None
            continue
        if not money_like:
            if has_name and not row.money and not row.labels:
                pending = row  # a name whose numbers are on the next row
            continue
        qty, price, amount = _qty_price(numbers, operator)
        if amount is None or amount <= 0:
            pending = None
            continue
        score = row.score
        if not has_name:
            if pending is None:
                continue
            name = " ".join(t for t in pending.text.split() if not _BARCODE.match(t))
            score = min(score, pending.score)
        elif qty is None and numbers[0] is numbers[-1]:
            # "2 KOPI O 2.40": a leading count that divides the amount evenly.
            lead = re.match(r"^(\d{1,2})\s+(?=\D)", name)
            if lead and int(lead[1]) > 0:
                count = Decimal(lead[1])
                if (amount * 100) % count == 0:
                    qty, price = count, amount / count
                    name = name[lead.end() :]
        pending = None
        items.append(
            LineItem(
                name=name,
                qty=qty.normalize() if qty is not None else None,
                unit_price=_cents(price) if price is not None else None,
                amount=_cents(amount),
                barcode=barcode,
                score=score,
            )
        )
    return items
