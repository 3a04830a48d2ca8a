"""Is this receipt one already claimed? Content decides; the image only supports.

Same receipt = same merchant and receipt number, or same merchant, date, time and total:
that is a duplicate, rejected with the earlier claim named. A photo that matches an earlier
one while the text reads differently goes to a person, never to an automatic reject: two
receipts of one shop share their whole layout, and a misread digit is not fraud. Edited
copies show in the content (the same number with another total or date) or in checks of
their own: a number out of sequence for the shop, a receipt dated after its upload.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Literal

import msgspec
from rapidfuzz import fuzz

from ocr.imagematch import ImageMatch
from ocr.receipt import ReceiptFields
from ocr.textnorm import compact, format_minor

Severity = Literal["reject", "review"]
SAME_MERCHANT = 85.0  # rapidfuzz ratio on compacted names
OTHER_MERCHANT = 60.0


class PriorReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """A receipt submitted earlier: who to name, and what was read from it."""

    claim: str
    receipt: str
    fields: ReceiptFields


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """Evidence against a receipt, naming the earlier claim when there is one."""

    code: str
    severity: Severity
    message: str
    message_zh: str
    earlier_claim: str | None = None
    earlier_receipt: str | None = None


class ReceiptKeys(msgspec.Struct, frozen=True, kw_only=True):
    """Indexable keys of a receipt's identity (None when not read)."""

    merchant: str | None
    number: str | None
    moment: str | None


def number_key(number: str | None) -> str | None:
    """A receipt number as compared: letters and digits, upper case; None if too short."""
    key = compact(number or "").upper()
    return key if len(key) >= 4 else None


def receipt_keys(fields: ReceiptFields) -> ReceiptKeys:
    """Merchant, number and date-time-total keys to look earlier receipts up by."""
    merchant = compact(fields.merchant or "")[:64] or None
    moment = None
    if fields.date and fields.time and fields.total is not None:
        moment = f"{fields.date.isoformat()}T{fields.time:%H:%M}|{fields.total}"
    return ReceiptKeys(merchant=merchant, number=number_key(fields.receipt_no), moment=moment)


def same_merchant(first: str | None, second: str | None) -> bool | None:
    """True or False when both names were read and clearly agree or differ, else None."""
    a, b = compact(first or ""), compact(second or "")
    if not a or not b:
        return None
    score = fuzz.ratio(a, b)
    if score >= SAME_MERCHANT or (min(len(a), len(b)) >= 4 and (a in b or b in a)):
        return True
    return False if score < OTHER_MERCHANT else None


def differing_fields(first: ReceiptFields, second: ReceiptFields) -> list[str]:
    """Fields read on both receipts whose values disagree."""
    out: list[str] = []
    if same_merchant(first.merchant, second.merchant) is False:
        out.append("merchant")
    a, b = number_key(first.receipt_no), number_key(second.receipt_no)
    if a and b and a != b:
        out.append("receipt_no")
    for name in ("date", "time", "total"):
        x, y = getattr(first, name), getattr(second, name)
        if x is not None and y is not None and x != y:
            out.append(name)
    return out


def _describe(fields: ReceiptFields, names: Sequence[str]) -> str:
    values = {
        "merchant": fields.merchant,
        "receipt_no": fields.receipt_no,
        "date": fields.date.isoformat() if fields.date else None,
        "time": fields.time.strftime("%H:%M") if fields.time else None,
        "total": format_minor(fields.total) if fields.total is not None else None,
    }
    return ", ".join(f"{name} {values[name]}" for name in names)


def compare(
    current: ReceiptFields, prior: PriorReceipt, image: ImageMatch | None
) -> Finding | None:
    """What `current` is to one earlier receipt: a duplicate, a suspect near match, or nothing.

    Why long: the comparison's evidence (merchant, number, moment, differing fields, image
    match) is weighed in one decision table a reviewer can read top to bottom.
    """
    earlier = prior.fields
    merchant = same_merchant(current.merchant, earlier.merchant)
    a, b = number_key(current.receipt_no), number_key(earlier.receipt_no)
    same_number = a is not None and a == b
    same_moment = (
        current.date is not None
        and current.time is not None
        and current.total is not None
        and (current.date, current.time, current.total)
        == (earlier.date, earlier.time, earlier.total)
    )
    differ = differing_fields(current, earlier)
    names = {"claim": prior.claim, "receipt": prior.receipt}

    def finding(code: str, severity: Severity, en: str, zh: str) -> Finding:
        return Finding(
            code=code,
            severity=severity,
            message=f"{en} (earlier claim {prior.claim})",
            message_zh=f"{zh}(先前的核销单 {prior.claim})",
            earlier_claim=names["claim"],
            earlier_receipt=names["receipt"],
        )

    if merchant is True and (same_number or same_moment):
        what = "receipt number" if same_number else "date, time and total"
        what_zh = "小票号" if same_number else "日期、时间和金额"
        changed = [n for n in differ if n in ("date", "total")] if same_number else []
        if changed:
            return finding(
                "duplicate_edited",
                "reject",
                f"same shop and {what} as an earlier receipt, but {_describe(current, changed)} "
                f"where it read {_describe(earlier, changed)}: an edited copy",
                f"与先前小票同一商户、同一{what_zh},但{'、'.join(changed)}被改动:疑似涂改复制",
            )
        return finding(
            "duplicate_content",
            "reject",
            f"a receipt with the same shop and {what} was already claimed",
            f"同一商户、同一{what_zh}的小票已被核销",
        )
    if merchant is None and (same_number or same_moment):
        return finding(
            "possible_duplicate",
            "review",
            "same receipt number or date, time and total as an earlier receipt; the shop "
            "name could not be compared",
            "小票号或日期时间金额与先前小票相同,商户名称无法比对",
        )
    if image is not None and image.same:
        fields = "、".join(differ) if differ else "—"
        return finding(
            "image_matches_earlier",
            "review",
            "the photo matches an earlier receipt but the text reads differently"
            + (f": {_describe(current, differ)} vs {_describe(earlier, differ)}" if differ else ""),
            f"照片与先前小票一致,但识别内容不同(不同字段:{fields})",
        )
    return None


_TRAILING_DIGITS = re.compile(r"^(?P<prefix>.*?)(?P<digits>\d{3,})$")


def _sequence(key: str | None) -> tuple[str, int, int] | None:
    match = _TRAILING_DIGITS.match(key or "")
    if match is None:
        return None
    return match["prefix"], len(match["digits"]), int(match["digits"])


def out_of_sequence(
    current: ReceiptFields, shop_receipts: Sequence[PriorReceipt]
) -> Finding | None:
    """A number that sits before a receipt the shop printed earlier, or after a later one."""
    mine = _sequence(number_key(current.receipt_no))
    if mine is None or current.date is None:
        return None
    when = (current.date, current.time or dt.time(0))
    for prior in shop_receipts:
        other = _sequence(number_key(prior.fields.receipt_no))
        if other is None or prior.fields.date is None or other[:2] != mine[:2]:
            continue
        if same_merchant(current.merchant, prior.fields.merchant) is not True:
            continue
        then = (prior.fields.date, prior.fields.time or dt.time(0))
        if then == when or other[2] == mine[2]:
            continue
        if (then < when) != (other[2] < mine[2]):
            return Finding(
                code="number_out_of_sequence",
                severity="review",
                message=(
                    f"receipt number {current.receipt_no} dated {current.date} is out of "
                    f"sequence with {prior.fields.receipt_no} dated {prior.fields.date} from "
                    f"the same shop (earlier claim {prior.claim})"
                ),
                message_zh=(
                    f"小票号 {current.receipt_no}({current.date})与同一商户的 "
                    f"{prior.fields.receipt_no}({prior.fields.date})顺序不符"
                    f"(先前的核销单 {prior.claim})"
                ),
                earlier_claim=prior.claim,
                earlier_receipt=prior.receipt,
            )
    return None


def dated_after_upload(fields: ReceiptFields, uploaded: dt.date) -> Finding | None:
    """A receipt dated after the day it was uploaded (a day's grace for time zones)."""
    if fields.date is None or fields.date <= uploaded + dt.timedelta(days=1):
        return None
    return Finding(
        code="date_after_upload",
        severity="review",
        message=f"the receipt is dated {fields.date}, after it was uploaded on {uploaded}",
        message_zh=f"小票日期 {fields.date} 晚于上传日期 {uploaded}",
    )
