"""A content fingerprint of the fields and a perceptual image hash.

The same till receipt photographed twice has the same content fingerprint (merchant, date,
number, total) even when the photos differ. The perceptual hash cannot tell receipts of one
printed layout apart (they are 2-6 bits apart): it only finds candidates for
`ocr.imagematch`, and never decides a duplicate (see `ocr.duplicates`).
"""

from __future__ import annotations

import hashlib

import imagehash
from PIL import Image

from ocr.receipt import ReceiptFields
from ocr.textnorm import compact

HASH_SIZE = 8  # 64-bit hashes, 16 hex digits
DUPLICATE_HASH_DISTANCE = 6  # bits; phash of a re-encoded or resized copy differs by 0-4


def content_fingerprint(fields: ReceiptFields) -> str | None:
    """SHA-256 (hex, 32 chars) of merchant, date, receipt number and total; None if too thin.

    It needs the total and at least one of date or receipt number, otherwise unrelated
    receipts would collide.
    """
    if fields.total is None or (fields.date is None and fields.receipt_no is None):
        return None
    parts = (
        compact(fields.merchant or ""),
        fields.date.isoformat() if fields.date else "",
        compact(fields.receipt_no or ""),
        str(fields.total),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def image_hash(image: Image.Image) -> str:
    """Perceptual hash (pHash) of the image as 16 hex digits."""
    return str(imagehash.phash(image.convert("L"), hash_size=HASH_SIZE))


def hash_distance(first: str, second: str) -> int:
    """Number of differing bits between two `image_hash` values."""
    return bin(int(first, 16) ^ int(second, 16)).count("1")


def is_same_image(first: str, second: str, max_distance: int = DUPLICATE_HASH_DISTANCE) -> bool:
    """True when two perceptual hashes are close enough to be the same photo."""
    return hash_distance(first, second) <= max_distance
