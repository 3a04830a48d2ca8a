"""Duplicate evidence: content fingerprints and perceptual hashes."""

from __future__ import annotations

import datetime as dt

from PIL import Image, ImageFilter

from ocr.fingerprint import content_fingerprint, hash_distance, image_hash, is_same_image
from ocr.receipt import ReceiptFields
from tests.ocr.factories import render_receipt


def test_same_content_same_fingerprint_despite_spacing_and_case() -> None:
    a = ReceiptFields(
        merchant="OJC Marketing Sdn Bhd",
        date=dt.date(2019, 1, 15),
        receipt_no="PEGIV-1030765",
        total=17000,
    )
    b = ReceiptFields(
        merchant="OJC MARKETING SDN. BHD",
        date=dt.date(2019, 1, 15),
        receipt_no="pegiv 1030765",
        total=17000,
    )
    assert content_fingerprint(a) == content_fingerprint(b)
    assert content_fingerprint(a) is not None


def test_different_total_different_fingerprint() -> None:
    a = ReceiptFields(merchant="X", date=dt.date(2019, 1, 15), total=17000)
    b = ReceiptFields(merchant="X", date=dt.date(2019, 1, 15), total=17001)
    assert content_fingerprint(a) != content_fingerprint(b)


def test_too_little_content_has_no_fingerprint() -> None:
    assert content_fingerprint(ReceiptFields(merchant="X", total=100)) is None


def test_perceptual_hash_survives_resizing_and_blur_but_not_another_receipt() -> None:
    first = render_receipt(["华润万家超市", "2026-11-20 14:32", "合计: 186.30", "现金 200.00"])
    copy = first.resize((first.width // 2, first.height // 2)).filter(ImageFilter.GaussianBlur(1))
    other = render_receipt(["OJC MARKETING", "", "", "", "", "TOTAL 170.00"])
    h1, h2, h3 = image_hash(first), image_hash(copy), image_hash(other)
    assert len(h1) == 16
    assert is_same_image(h1, h2)
    assert not is_same_image(h1, h3)
    assert hash_distance(h1, h1) == 0


def test_hash_of_rgb_and_grey_agree() -> None:
    image = render_receipt(["合计 12.00"])
    assert image_hash(image) == image_hash(image.convert("L").convert("RGB"))
    assert isinstance(image, Image.Image)
