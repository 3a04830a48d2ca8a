"""Duplicates by content: same shop and number, or shop, date, time and total; images only support."""

from __future__ import annotations

import datetime as dt

from ocr.duplicates import (
    PriorReceipt,
    compare,
    dated_after_upload,
    out_of_sequence,
    receipt_keys,
    same_merchant,
)
from ocr.imagematch import ImageMatch
from ocr.receipt import ReceiptFields

SAME_IMAGE = ImageMatch(inliers=300, tiles=500, differing=0, same=True)


def fields(**changes: object) -> ReceiptFields:
    values: dict[str, object] = {
        "merchant": "TESCO EXTRA",
        "receipt_no": "CS104233",
        "date": dt.date(2026, 3, 4),
        "time": dt.time(10, 12),
        "total": 9419,
    }
    values.update(changes)
    return ReceiptFields(**values)  # type: ignore[arg-type]


def prior(**changes: object) -> PriorReceipt:
    return PriorReceipt(claim="claim-1", receipt="receipt-1", fields=fields(**changes))


def test_same_shop_and_number_is_a_duplicate_naming_the_earlier_claim() -> None:
    finding = compare(fields(merchant="TESC0 EXTRA"), prior(), None)
    assert finding is not None
    assert (finding.code, finding.severity, finding.earlier_claim) == (
        "duplicate_content",
        "reject",
        "claim-1",
    )
    assert "claim-1" in finding.message and "claim-1" in finding.message_zh


def test_same_shop_date_time_and_total_is_a_duplicate_without_a_number() -> None:
    finding = compare(fields(receipt_no=None), prior(receipt_no=None), None)
    assert finding is not None and finding.code == "duplicate_content"


def test_same_number_with_another_total_is_an_edited_copy() -> None:
    finding = compare(fields(total=19419), prior(), None)
    assert finding is not None
    assert (finding.code, finding.severity) == ("duplicate_edited", "reject")
    assert "194.19" in finding.message and "94.19" in finding.message


def test_another_receipt_of_the_same_shop_is_not_a_duplicate() -> None:
    other = fields(receipt_no="CS104236", time=dt.time(11, 49), total=2350)
    assert compare(other, prior(), None) is None


def test_a_matching_image_that_reads_differently_goes_to_review_never_reject() -> None:
    other = fields(receipt_no="CS104238", total=19419)  # two fields misread
    finding = compare(other, prior(), SAME_IMAGE)
    assert finding is not None
    assert (finding.code, finding.severity) == ("image_matches_earlier", "review")
    assert "receipt_no" in finding.message and "CS104238" in finding.message
    assert compare(other, prior(), None) is None


def test_same_number_at_another_shop_is_not_a_duplicate() -> None:
    assert compare(fields(merchant="GIANT HYPERMARKET"), prior(), None) is None
    assert same_merchant("GIANT HYPERMARKET", "TESCO EXTRA") is False
    assert same_merchant(None, "TESCO EXTRA") is None


def test_an_unread_shop_name_with_the_same_number_goes_to_review() -> None:
    finding = compare(fields(merchant=None), prior(), None)
    assert finding is not None and finding.severity == "review"


def test_numbers_out_of_sequence_for_the_shop_are_flagged() -> None:
    later = prior(receipt_no="CS104300", date=dt.date(2026, 3, 10))
    # dated after the shop's receipt 104300 of 10 March but numbered before it
    edited = fields(receipt_no="CS104233", date=dt.date(2026, 3, 20))
    finding = out_of_sequence(edited, [later])
    assert finding is not None and finding.code == "number_out_of_sequence"
    in_order = fields(receipt_no="CS104400", date=dt.date(2026, 3, 20))
    assert out_of_sequence(in_order, [later]) is None


def test_a_receipt_dated_after_its_upload_is_flagged() -> None:
    assert dated_after_upload(fields(), dt.date(2026, 3, 4)) is None
    finding = dated_after_upload(fields(date=dt.date(2026, 3, 9)), dt.date(2026, 3, 4))
    assert finding is not None and finding.severity == "review"


def test_keys_index_number_and_moment() -> None:
    keys = receipt_keys(fields(receipt_no="cs 104-233"))
    assert keys.number == "CS104233"
    assert keys.moment == "2026-03-04T10:12|9419"
    assert receipt_keys(fields(time=None)).moment is None
