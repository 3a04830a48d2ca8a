"""Receipt fields from grouped rows: merchant, date and time, number, total, currency, ...

The rules are written from real receipt wording (Chinese supermarket and restaurant
tickets, Malaysian SROIE-style tax invoices, US/UK till slips), not from our generator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ocr.arithmetic import labelled_amounts, reconcile_total
from ocr.dates import dates_in, find_date_time, times_in
from ocr.items import parse_items
from ocr.labels import governing
from ocr.receipt import ReceiptFields, Row
from ocr.rowtext import Money, ParsedRow, parse_rows
from ocr.textnorm import has_cjk

# ---------------------------------------------------------------- total


@dataclass(frozen=True, slots=True)
class _Candidate:
    row: int
    rank: int
    value: int
    score: float


def _total_candidates(rows: list[ParsedRow]) -> list[_Candidate]:
    candidates: list[_Candidate] = []
    for i, row in enumerate(rows):
        total_labels = [label for label in row.labels if label.kind == "total"]
        same_labels = [label for label in row.labels if label.kind == "same"]
        if not total_labels and not same_labels:
            continue
        governed: dict[int, list[Money]] = {}
        for money in row.money:
            label = governing(row.labels, money.start)
            if label is not None and label.kind == "total":
                governed.setdefault(label.start, []).append(money)
        for label in [*total_labels, *same_labels]:
            values = governed.get(label.start, [])
            if label.kind == "same" and not values and label is not row.labels[0]:
                continue
            if values:
                resolved = governing(row.labels, values[-1].start)
                rank = resolved.rank if resolved is not None else label.rank
                candidates.append(_Candidate(i, rank, values[-1].value, row.score))
                continue
            # "合计" alone at the row's end: the amount is on the next row by itself.
            trailing = not any(other.start > label.start for other in row.labels)
            if trailing and not [m for m in row.money if m.start > label.end] and i + 1 < len(rows):
                nxt = rows[i + 1]
                if nxt.money and not nxt.labels:
                    candidates.append(
                        _Candidate(i, label.rank, nxt.money[0].value, min(row.score, nxt.score))
                    )
    return candidates


def find_total(rows: list[ParsedRow]) -> tuple[int | None, float]:
    """The amount the customer paid: best-ranked total label before the tender lines."""
    candidates = [c for c in _total_candidates(rows) if c.value > 0]
    if not candidates:
        return None, 0.0
    first = min(c.row for c in candidates)
    boundary = next(
        (
            row.index
            for row in rows[first:]
            if any(label.kind in {"tendered", "change"} for label in row.labels)
            and not any(label.kind == "total" and label.rank >= 2 for label in row.labels)
        ),
        None,
    )
    if boundary is not None:
        before = [c for c in candidates if c.row <= boundary]
        candidates = before or candidates
    best_rank = max(c.rank for c in candidates)
    best = [c for c in candidates if c.rank == best_rank][-1]
    if best.rank == 1:
        # "实收" alone is what the customer handed over when change follows: 实收 - 找零.
        change = _change_after(rows, best.row)
        if change is not None and 0 < change < best.value:
            return best.value - change, best.score
    return best.value, best.score


def _change_after(rows: list[ParsedRow], start: int) -> int | None:
    for row in rows[start : start + 3]:
        for money in row.money:
            label = governing(row.labels, money.start)
            if label is not None and label.kind == "change":
                return money.value
    return None


# ---------------------------------------------------------------- receipt number

_NUMBER_LABEL = re.compile(
    r"(?P<other>tel|fax|phone|hp|(?:gst|sst)\s*(?:id|reg(?:istration)?)?\.?|tax\s*id|reg(?:istration)?|company|co\.?|"
    r"roc|table|card|member|pos|terminal|cashier|store|branch|acc(?:ount)?|counter|staff|机号|台号|桌号|会员号|"
    r"会员卡号|卡号|收银员|工号|电话|税号)\s*(?:no\.?|number|#)?\s*[:#.]?"
    r"|(?P<label>小票号|小票单号|小票编号|流水号|交易流水号|销售单号|单据号|单据编号|结算单号|账单号|订单号|"
    r"交易号|收据号|票据号|单号|票号|编号|"
    r"receipt\s*(?:no\.?|number|#|id)|invoice\s*(?:no\.?|number|#)|inv\.?\s*(?:no\.?|#)|"
    r"bill\s*(?:no\.?|number|#)|doc(?:ument)?\s*(?:no\.?|#)|trans(?:action)?\.?\s*(?:no\.?|#|id)|"
    r"order\s*(?:no\.?|#)|ref(?:erence)?\s*(?:no\.?|#)|slip\s*no\.?|chk\s*#?|check\s*#|"
    r"receipt\s*#|invoice|receipt|no\.|no:|no\b|#)",
    re.IGNORECASE,
)
_NUMBER_VALUE = re.compile(r"\s*[:#.]?\s*(?P<v>[A-Za-z0-9][A-Za-z0-9\-/]{2,})")
_ADDRESS_HINT = re.compile(
    r"jalan|jln|taman|lorong|road|street|avenue|lot\b|floor|路|街|号楼|大道", re.IGNORECASE
)


def find_receipt_no(rows: list[ParsedRow]) -> tuple[str | None, float]:
    """Receipt / invoice / serial number after its label."""
    for row in rows:
        for m in _NUMBER_LABEL.finditer(row.text):
            if m["label"] is None:
                continue
            label = m["label"].lower()
            generic = label in {"no.", "no:", "no", "#", "invoice", "receipt", "编号"}
            value_match = _NUMBER_VALUE.match(row.text, m.end())
            if value_match is None:
                continue
            value = value_match["v"].rstrip("-/")
            digits = sum(ch.isdigit() for ch in value)
            if digits < 3 or value.lower().startswith(("no", "tel")):
                continue
            if generic and (_ADDRESS_HINT.search(row.text) or digits < 4):
                continue
            if dates_in(value) and len(value) <= 10:
                continue
            return value, row.score
    return None, 0.0


# ---------------------------------------------------------------- merchant, address

_GENERIC_HEADING = re.compile(
    r"^(?:欢迎光临|欢迎惠顾|谢谢惠顾|购物小票|收银小票|销售小票|销售单|结账单|结帐单|消费小票|小票|收据|"
    r"顾客联|存根联|客户联|签购单|(?:simplified\s*)?tax\s*invoice|invoice|receipt|official\s*receipt|"
    r"cash\s*(?:sale|bill)|sales\s*receipt|copy|duplicate|reprint|welcome|thank\s*you)\W*$",
    re.IGNORECASE,
)
_MERCHANT_HINT = re.compile(
    r"超市|便利|商店|商场|商城|药房|药店|医药|餐厅|饭店|酒家|酒楼|餐饮|食府|面馆|茶餐厅|批发|商行|公司|"
    r"百货|购物|广场|市场|连锁|门市|专卖|旗舰|烘焙|蛋糕|咖啡|茶饮|火锅|烧烤|店|"
    r"sdn\.?\s*bhd|\bbhd\b|enterprise|trading|\bmart\b|market|store|shop|restaurant|cafe|"
    r"pharmacy|hardware|bakery|supermarket|hypermarket|\bltd\b|\bllc\b|\binc\b|\bplc\b|\bco\b",
    re.IGNORECASE,
)
# Legal-entity wording: the registered company name SROIE-style invoices are filed under.
_LEGAL_ENTITY = re.compile(
    r"sdn\.?\s*bhd|\bbhd\b|\bs/b\b|有限公司|有限责任公司|\bltd\b|\bllc\b|\binc\b|\bplc\b|\bpte\b",
    re.IGNORECASE,
)
# A company registration number printed after the name: "(779763-K)", "(CO. NO:20154-T)".
_COMPANY_REG = re.compile(
    r"\s*[(\[](?:co(?:mpany)?\.?\s*(?:no|reg)[^)\]]*|[^)\]]*\d{4,}[^)\]]*)[)\]]\s*$", re.IGNORECASE
)
_KEY_VALUE = re.compile(r"^[^\d:：]{1,12}[:：]")  # "收银员: 001", "Cashier: AMIRAH"
_ADDRESS = re.compile(
    r"地址|地點|addr(?:ess)?\b|[省市区县]\S{0,12}[路街道巷弄]\S{0,10}\d|\d+号|"
    r"\b(?:jalan|jln|taman|lorong|persiaran|lebuh|road|rd|street|st|avenue|ave|blvd|lane|"
    r"highway|floor|lot|blok|block|level)\b|\b\d{5}\b\s+[a-z]",
    re.IGNORECASE,
)
_CONTACT = re.compile(
    r"tel|fax|phone|电话|手机|热线|www\.|http|@|gst|reg\b|税号|\(\d{5,}-?[a-z]\)", re.IGNORECASE
)


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def find_merchant(rows: list[ParsedRow]) -> tuple[str | None, float]:
    """Shop name: a heading near the top, preferring one that reads like a business name."""
    candidates: list[tuple[ParsedRow, str]] = []
    for row in rows[:8]:
        text = row.text
        numbered = _NUMBER_LABEL.match(text)
        # A receipt number ends the header; a phone or GST line only once a name was seen.
        if numbered and (numbered["label"] is not None or candidates):
            break
        if row.money or dates_in(text) or times_in(text):
            break  # the shop's name is printed above the transaction details
        stripped = _COMPANY_REG.sub("", text)
        if _letters(stripped) >= 2:
            text = stripped  # "SANJUNG REALITI SDN. BHD. (779763-K)" is not a phone line
        if _GENERIC_HEADING.match(text) or _letters(text) < 2 or _KEY_VALUE.search(text):
            continue
        if sum(ch.isdigit() for ch in text) > 0.3 * sum(ch.isalnum() for ch in text):
            continue  # store numbers, phone numbers, registration numbers
        hinted = _MERCHANT_HINT.search(text) is not None
        if _CONTACT.search(text) or (_ADDRESS.search(text) and not hinted):
            continue
        candidates.append((row, text))
        if len(candidates) >= 4:
            break
    if not candidates:
        return None, 0.0
    # The registered company name beats a brand or outlet heading above it.
    chosen, text = next(
        (pair for pair in candidates if _LEGAL_ENTITY.search(pair[1])),
        next((pair for pair in candidates if _MERCHANT_HINT.search(pair[1])), candidates[0]),
    )
    name = re.sub(r"^(?:欢迎光临|欢迎您光临|welcome\s*to)\s*", "", text, flags=re.IGNORECASE)
    name = re.sub(r"(?:欢迎您|欢迎光临)$", "", name).strip(" -*=~·")
    return (name or None), chosen.score


def find_address(rows: list[ParsedRow]) -> str | None:
    """Store address: consecutive address-like rows in the header."""
    parts: list[str] = []
    for row in rows[:12]:
        plain = not row.money and not row.labels and _letters(row.text) >= 2
        labelled = re.search(r"地址|地點|addr", row.text, re.IGNORECASE) is not None
        if _CONTACT.search(row.text) and not labelled:
            plain = False
        if not plain or dates_in(row.text) or _GENERIC_HEADING.match(row.text):
            if parts:
                break
            continue
        if _ADDRESS.search(row.text) or (parts and len(parts) < 4 and not has_cjk(row.text)):
            parts.append(
                re.sub(
                    r"^(?:地址|地點|addr(?:ess)?)\s*[:：]?\s*", "", row.text, flags=re.IGNORECASE
                )
            )
        elif parts:
            break
    return ", ".join(part.rstrip(", ") for part in parts) if parts else None


# ---------------------------------------------------------------- payment, currency

_PAYMENT = (
    (re.compile(r"微信|wechat|weixin", re.IGNORECASE), "wechat"),
    (re.compile(r"支付宝|alipay", re.IGNORECASE), "alipay"),
    (re.compile(r"云闪付|银联|unionpay", re.IGNORECASE), "unionpay"),
    (
        re.compile(
            r"visa|master\s*card|mastercard|amex|银行卡|刷卡|信用卡|借记卡|credit|debit|card",
            re.IGNORECASE,
        ),
        "card",
    ),
    (re.compile(r"touch\s*'?n\s*go|tng|grab\s*pay|boost|e-?wallet", re.IGNORECASE), "ewallet"),
    (re.compile(r"储值卡|会员卡支付|预付卡|stored\s*value", re.IGNORECASE), "stored_value"),
    (re.compile(r"现金|cash|tunai", re.IGNORECASE), "cash"),
)


def find_payment_method(rows: list[ParsedRow]) -> str | None:
    """How the customer paid, from the tender lines."""
    for pattern, method in _PAYMENT:
        for row in rows:
            if pattern.search(row.text) and (row.money or method != "card"):
                return method
    return None


_CURRENCY_MARKS = (
    (re.compile(r"\bRM\b|\bMYR\b|RM\s?\d", re.IGNORECASE), "MYR"),
    (re.compile(r"S\$|\bSGD\b"), "SGD"),
    (re.compile(r"HK\$|\bHKD\b"), "HKD"),
    (re.compile(r"NT\$|\bTWD\b"), "TWD"),
    (re.compile(r"¥|\bRMB\b|\bCNY\b|\d\s?元|人民币"), "CNY"),
    (re.compile(r"€|\bEUR\b"), "EUR"),
    (re.compile(r"£|\bGBP\b"), "GBP"),
    (re.compile(r"\$|\bUSD\b"), "USD"),
)


def find_currency(rows: list[ParsedRow]) -> str | None:
    """Currency from symbols and codes; Chinese text without a mark means CNY."""
    text = "\n".join(row.text for row in rows)
    for pattern, code in _CURRENCY_MARKS:
        if pattern.search(text):
            return code
    if has_cjk(text):
        return "CNY"
    return None


def parse_fields(rows: list[Row]) -> ReceiptFields:
    """All fields of a receipt from its rows."""
    parsed = parse_rows(rows)
    merchant, merchant_score = find_merchant(parsed)
    currency = find_currency(parsed)
    chinese = any(has_cjk(row.text) for row in parsed)
    date, time, date_score = find_date_time(
        parsed, month_first=currency == "USD", year_first=chinese and currency in (None, "CNY")
    )
    receipt_no, number_score = find_receipt_no(parsed)
    total, total_score = find_total(parsed)
    items = tuple(parse_items(parsed))
    amounts = labelled_amounts(parsed)
    item_sum = (
        sum(item.amount or 0 for item in items)
        if items and all(item.amount is not None for item in items)
        else None
    )
    candidates = [c.value for c in _total_candidates(parsed) if c.value > 0]
    total = reconcile_total(total, candidates, item_sum, amounts)
    scores = {
        name: round(score, 4)
        for name, score, present in (
            ("merchant", merchant_score, merchant is not None),
            ("date", date_score, date is not None),
            ("receipt_no", number_score, receipt_no is not None),
            ("total", total_score, total is not None),
        )
        if present
    }
    return ReceiptFields(
        merchant=merchant,
        date=date,
        time=time,
        receipt_no=receipt_no,
        total=total,
        currency=currency,
        items=items,
        payment_method=find_payment_method(parsed),
        address=find_address(parsed),
        amounts=amounts,
        field_scores=scores,
    )
