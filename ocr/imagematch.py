"""Is this photo a re-shot of that one? Local keypoints verified by one geometric transform.

A global perceptual hash cannot tell two receipts of one printed layout apart (same logo,
same header, same rules). Here each image keeps up to `MAX_FEATURES` ORB keypoints; two
images match when enough keypoint pairs agree on a single homography (RANSAC) *and* those
agreeing pairs cover most of the paper, not only the shared header and footer. Re-encoding,
resizing, cropping, rotating, a new perspective or other lighting keep the same points.

Image matching is supporting evidence only: what the receipt says (merchant, number, date,
total) decides whether two receipts are the same; a match whose content differs goes to a
person.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from typing import Any, NamedTuple

import cv2
import msgspec
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

MAX_FEATURES = 700
WORK_SIDE = 1100  # long side, px, features are computed at
MIN_INLIERS = 25
MIN_TILES = 50  # inked tiles that must overlap to judge at all
# Tiles one paper shows and the other does not: a copy has none but noise. Another
# receipt of the same shop on the same day may differ in a few digits only, so the image
# alone never says "edited copy"; what the receipt says does (see `ocr.duplicates`).
_SAME_SHARE = 0.005
_TOLERANCE = 3  # px of misalignment forgiven
_TILE = 24  # px, at WORK_SIDE
_TILE_INK = 20  # inked pixels that make a tile worth comparing
_EXPLAINED = 0.6  # share of a tile's ink the other paper must show nearby
_HEADER = struct.Struct("<4sHHH")  # magic, count, width, height
_MAGIC = b"ORB1"


class ImageMatch(msgspec.Struct, frozen=True, kw_only=True):
    """How two images relate: agreeing keypoint pairs, and the share of the paper they cover."""

    inliers: int
    tiles: int  # inked tiles compared where the two overlap
    differing: int  # of those, tiles one paper shows and the other does not
    same: bool


def image_features(image: Image.Image) -> bytes:
    """Compact ORB keypoints (positions and descriptors) of an image, for `match_features`."""
    gray = ImageOps.grayscale(image)
    scale = WORK_SIDE / max(gray.size)
    if abs(scale - 1) > 0.02:  # one scale for every copy, larger or smaller
        gray = gray.resize(
            (max(1, round(gray.width * scale)), max(1, round(gray.height * scale))),
            Image.Resampling.BILINEAR,
        )
    pixels = np.asarray(gray, dtype=np.uint8)
    pixels = np.asarray(
        cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(pixels), dtype=np.uint8
    )
    orb = cv2.ORB.create(nfeatures=MAX_FEATURES, scaleFactor=1.3, nlevels=6, fastThreshold=12)
    no_mask: Any = None  # the stubs type the mask as an image; OpenCV takes None for none
    found_points: tuple[Any, Any] = orb.detectAndCompute(pixels, no_mask)
    keypoints: Sequence[cv2.KeyPoint] = found_points[0]
    found = found_points[1]
    count = len(keypoints)  # descriptors are None exactly when no keypoint was found
    header = _HEADER.pack(_MAGIC, count, gray.width, gray.height)
    if not count:
        return header
    points = np.array([kp.pt for kp in keypoints], dtype=np.float32)
    ink = _ink(pixels)
    packed = np.packbits(ink, axis=None).tobytes()
    return (
        header
        + points.astype("<f2").tobytes()
        + np.asarray(found, dtype=np.uint8).tobytes()
        + zlib.compress(packed, 6)
    )


def _ink(pixels: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Dark strokes (text, rules, logos) against the local paper brightness."""
    blurred = cv2.GaussianBlur(pixels, (5, 5), 0)
    mask = cv2.adaptiveThreshold(
        blurred, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 25
    )
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    return mask > 0


class _Features(NamedTuple):
    points: NDArray[np.float32]
    descriptors: NDArray[np.uint8]
    ink: NDArray[np.bool_]

    @property
    def size(self) -> tuple[int, int]:
        return self.ink.shape[1], self.ink.shape[0]


def _unpack(blob: bytes) -> _Features | None:
    if len(blob) < _HEADER.size:
        return None
    magic, count, width, height = _HEADER.unpack_from(blob)
    end = _HEADER.size + count * (4 + 32)
    if magic != _MAGIC or len(blob) <= end or count < 8:
        return None
    offset = _HEADER.size
    points = np.frombuffer(blob, dtype="<f2", count=count * 2, offset=offset)
    descriptors = np.frombuffer(blob, dtype=np.uint8, count=count * 32, offset=offset + count * 4)
    try:
        bits = np.frombuffer(zlib.decompress(blob[end:]), dtype=np.uint8)
    except zlib.error:
        return None
    if bits.size * 8 < width * height:
        return None
    ink = np.unpackbits(bits)[: width * height].reshape(height, width).astype(bool)
    return _Features(
        points.reshape(count, 2).astype(np.float32), descriptors.reshape(count, 32), ink
    )


def _unexplained_tiles(
    ink: NDArray[np.bool_], other: NDArray[np.bool_], valid: NDArray[np.bool_]
) -> tuple[int, int]:
    """(inked tiles inside `valid`, those whose ink `other` does not show nearby)."""
    kernel = np.ones((2 * _TOLERANCE + 1, 2 * _TOLERANCE + 1), np.uint8)
    near = cv2.dilate(other.astype(np.uint8), kernel) > 0
    strokes = ink & valid
    h, w = ink.shape
    rows, cols = h // _TILE, w // _TILE
    if not rows or not cols:
        return 0, 0
    crop = (slice(0, rows * _TILE), slice(0, cols * _TILE))

    def per_tile(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
        return mask[crop].reshape(rows, _TILE, cols, _TILE).sum(axis=(1, 3))

    total = per_tile(strokes)
    explained = per_tile(strokes & near)
    inked = total >= _TILE_INK
    unexplained = inked & (explained < _EXPLAINED * total)
    return int(inked.sum()), int(unexplained.sum())


def _compare_ink(a: _Features, b: _Features, homography: NDArray[np.float64]) -> tuple[int, int]:
    """Printed lines of either paper that the other does not show, after alignment."""
    wb, hb = b.size
    warped = cv2.warpPerspective(a.ink.astype(np.uint8), homography, (wb, hb)) > 0
    valid = cv2.warpPerspective(np.ones_like(a.ink, dtype=np.uint8), homography, (wb, hb)) > 0
    valid = cv2.erode(valid.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    compared_b, differing_b = _unexplained_tiles(b.ink, warped, valid)
    inverse = np.linalg.inv(homography)
    wa, ha = a.size
    back = cv2.warpPerspective(b.ink.astype(np.uint8), inverse, (wa, ha)) > 0
    valid_a = cv2.warpPerspective(np.ones_like(b.ink, dtype=np.uint8), inverse, (wa, ha)) > 0
    valid_a = cv2.erode(valid_a.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    compared_a, differing_a = _unexplained_tiles(a.ink, back, valid_a)
    return min(compared_a, compared_b), max(differing_a, differing_b)


def match_features(first: bytes, second: bytes) -> ImageMatch:
    """Compare two `image_features` blobs: the same paper (perhaps edited), or not."""
    a, b = _unpack(first), _unpack(second)
    nothing = ImageMatch(inliers=0, tiles=0, differing=0, same=False)
    if a is None or b is None:
        return nothing
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(a.descriptors, b.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < MIN_INLIERS:
        return ImageMatch(inliers=len(good), tiles=0, differing=0, same=False)
    src = np.array([a.points[m.queryIdx] for m in good], dtype=np.float32)
    dst = np.array([b.points[m.trainIdx] for m in good], dtype=np.float32)
    found, mask = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
    if np.asarray(found).shape != (3, 3):  # no transform found
        return nothing
    homography: NDArray[np.float64] = np.asarray(found, dtype=np.float64)
    inliers = int(mask.sum())
    det = float(np.linalg.det(homography[:2, :2]))
    if inliers < MIN_INLIERS or not 0.05 < abs(det) < 20:
        return ImageMatch(inliers=inliers, tiles=0, differing=0, same=False)
    tiles, differing = _compare_ink(a, b, homography)
    same = tiles >= MIN_TILES and differing <= max(2, _SAME_SHARE * tiles)
    return ImageMatch(inliers=inliers, tiles=tiles, differing=differing, same=same)
