"""Image matching: re-shot copies match; other receipts of one printed layout do not."""

from __future__ import annotations

import io
import itertools

import pytest
from PIL import Image

from ocr.decode import decode_image
from ocr.imagematch import image_features, match_features
from ocr.synth import SynthReceipt
from ocr.synth_shops import Shop, copy_of, make_shop, shop_receipt

ShopSet = tuple[Shop, list[SynthReceipt], list[bytes]]


def features(data: bytes) -> bytes:
    return image_features(decode_image(data))


@pytest.fixture(scope="module")
def shop_set() -> ShopSet:
    shop = make_shop(0)
    receipts = [shop_receipt(shop, i) for i in range(4)]
    return shop, receipts, [features(r.image) for r in receipts]


@pytest.mark.parametrize("kind", ["exact", "reencoded", "resized", "cropped", "brightness"])
def test_a_copy_matches(kind: str, shop_set: ShopSet) -> None:
    shop, receipts, feats = shop_set
    copy = copy_of(receipts[0], shop, kind, seed=3)  # type: ignore[arg-type]
    match = match_features(feats[0], features(copy))
    assert match.same, match


def test_distinct_receipts_of_one_layout_do_not_match(
    shop_set: ShopSet,
) -> None:
    _, _, feats = shop_set
    for a, b in itertools.combinations(feats, 2):
        match = match_features(a, b)
        assert not match.same, match
        assert match.inliers > 50  # the shared layout does match: keypoints alone cannot tell


def test_blank_or_broken_features_never_match() -> None:
    blank = image_features(Image.new("RGB", (300, 600), "white"))
    out = io.BytesIO()
    Image.new("RGB", (300, 600), "white").save(out, "PNG")
    assert not match_features(blank, blank).same
    assert not match_features(b"junk", b"junk").same
