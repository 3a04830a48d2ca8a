"""Safe image decoding: limits first, then Pillow, then a plain RGB picture."""

from __future__ import annotations

import io
import warnings

import msgspec
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ocr.errors import (
    ImageEmpty,
    ImageFormatUnsupported,
    ImageTooLarge,
    ImageTooSmall,
    ImageTruncated,
    ImageUnreadable,
)

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"})


class DecodeLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Bounds applied before and while decoding an upload."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    min_side: int = 32
    # Larger pictures are scaled down before OCR: detection works at ~1-2k pixels anyway.
    max_side: int = 2000


DEFAULT_LIMITS = DecodeLimits()

# Signatures of things people upload by mistake, named in the error message.
_NOT_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"<!doctype html", "an HTML page"),
    (b"<html", "an HTML page"),
    (b"<?xml", "an XML document"),
    (b"<svg", "an SVG drawing"),
    (b"PK\x03\x04", "a ZIP archive"),
)


def sniff_non_image(data: bytes) -> str | None:
    """Name the kind of document `data` is when it is clearly not an image."""
    head = data[:512].lstrip().lower()
    for magic, name in _NOT_IMAGES:
        if head.startswith(magic.lower()):
            return name
    return None


def decode_image(data: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> Image.Image:
    """Decode upload bytes into an upright 8-bit RGB image, or raise an `ImageError`."""
    if not data:
        raise ImageEmpty("the file is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"the file has {len(data)} bytes; the limit is {limits.max_bytes}")
    kind = sniff_non_image(data)
    if kind is not None:
        raise ImageFormatUnsupported(f"the file looks like {kind}, not an image")
    Image.init()  # registers every plugin, so the allow-list below can name them
    try:
        with warnings.catch_warnings():
            # Pillow warns between max_pixels and twice that; we decide ourselves below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS))
    except UnidentifiedImageError as exc:
        raise ImageFormatUnsupported(
            f"the file is not an image in an allowed format ({', '.join(sorted(ALLOWED_FORMATS))})"
        ) from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"the image has too many pixels: {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageTruncated(f"the image header is damaged: {exc}") from exc

    with image:
        width, height = image.size
        if width * height > limits.max_pixels:
            raise ImageTooLarge(
                f"the image is {width}x{height} pixels; the limit is {limits.max_pixels} pixels"
            )
        if min(width, height) < limits.min_side:
            raise ImageTooSmall(
                f"the image is {width}x{height} pixels; each side needs at least {limits.min_side}"
            )
        try:
            image.seek(0)  # first frame of an animation
            # draft() lets JPEG decode at 1/2, 1/4 or 1/8 scale while the longest side stays
            # at least max_side: a 12-megapixel phone photo (4032 px) decodes at half size,
            # a quarter of the work and memory, and needs almost no resize afterwards.
            longest = max(width, height)
            if image.format == "JPEG" and longest > limits.max_side:
                scale = limits.max_side / longest
                image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
            image.load()
        except Image.DecompressionBombError as exc:
            raise ImageTooLarge(f"the image has too many pixels: {exc}") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageTruncated(f"the image data is truncated or corrupt: {exc}") from exc
        try:
            upright = ImageOps.exif_transpose(image) or image
        except (OSError, ValueError, SyntaxError, KeyError, TypeError):
            upright = image  # a broken EXIF block must not lose the picture
        rgb = to_rgb(upright)
    if max(rgb.size) > limits.max_side:
        rgb.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    return rgb


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any mode (CMYK, alpha, 16-bit, palette, 1-bit) to RGB, alpha over white."""
    mode = image.mode
    if mode == "RGB":
        return image.copy()
    if mode == "P":
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in {"RGBA", "LA", "PA", "RGBa", "La"}:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode.startswith("I;16") or mode in {"I", "F"}:
        # 16-bit or float greyscale: stretch to 8 bits instead of clipping to white.
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / ((high - low) or 1.0))
        grey = Image.fromarray(scaled.astype(np.uint8))
        return grey.convert("RGB")
    try:
        return image.convert("RGB")
    except (OSError, ValueError) as exc:
        raise ImageUnreadable(f"cannot convert {mode} image to RGB: {exc}") from exc
