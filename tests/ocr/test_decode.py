"""Safe decoding of uploads: limits, formats, orientation and colour modes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from ocr.decode import DecodeLimits, decode_image
from ocr.errors import (
    ImageEmpty,
    ImageError,
    ImageFormatUnsupported,
    ImageTooLarge,
    ImageTooSmall,
    ImageTruncated,
    OcrError,
)
from tests.ocr.factories import encode


def test_zero_bytes() -> None:
    with pytest.raises(ImageEmpty) as info:
        decode_image(b"")
    assert info.value.code == "image_empty"


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body>not a receipt</body></html>",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj",
        b"just some text that is not an image at all",
    ],
)
def test_documents_named_jpg_are_rejected(data: bytes) -> None:
    with pytest.raises(ImageFormatUnsupported) as info:
        decode_image(data)
    assert info.value.code == "image_format_unsupported"


def test_svg_is_not_on_the_allow_list() -> None:
    with pytest.raises(ImageFormatUnsupported):
        decode_image(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')


def test_huge_png_is_refused_before_decoding() -> None:
    data = encode(Image.new("1", (20_000, 20_000)))  # ~50 KB on disk, 400 Mpx in memory
    with pytest.raises(ImageTooLarge) as info:
        decode_image(data)
    assert info.value.code == "image_too_large"


def test_decompression_bomb_between_our_limit_and_pillows() -> None:
    data = encode(Image.new("L", (8_000, 6_000)))  # 48 Mpx: under Pillow's own bomb limit
    with pytest.raises(ImageTooLarge):
        decode_image(data, DecodeLimits(max_pixels=40_000_000))


def test_byte_limit() -> None:
    with pytest.raises(ImageTooLarge):
        decode_image(b"\xff" * 2048, DecodeLimits(max_bytes=1024))


def test_truncated_jpeg() -> None:
    data = encode(Image.new("RGB", (600, 400), "red"), "JPEG", quality=90)
    with pytest.raises(ImageTruncated) as info:
        decode_image(data[: len(data) // 3])
    assert info.value.code == "image_truncated"


def test_one_pixel_image() -> None:
    with pytest.raises(ImageTooSmall) as info:
        decode_image(encode(Image.new("RGB", (1, 1))))
    assert info.value.code == "image_too_small"


def test_errors_share_one_tree() -> None:
    assert issubclass(ImageTruncated, ImageError)
    assert issubclass(ImageError, OcrError)


def test_cmyk_tiff_becomes_rgb() -> None:
    image = decode_image(encode(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "TIFF"))
    assert image.mode == "RGB"
    assert image.size == (64, 48)
    red, green, blue = image.getpixel((5, 5))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60


def test_alpha_is_composited_on_white() -> None:
    image = decode_image(encode(Image.new("RGBA", (64, 64), (0, 0, 0, 0))))
    assert image.mode == "RGB"
    assert image.getpixel((10, 10)) == (255, 255, 255)


def test_sixteen_bit_greyscale_is_stretched_not_clipped() -> None:
    grey = Image.new("I;16", (64, 64), 1000)
    grey.paste(30000, (0, 0, 32, 64))
    image = decode_image(encode(grey))
    assert image.mode == "RGB"
    assert image.getpixel((5, 5)) == (255, 255, 255)
    assert image.getpixel((50, 5)) == (0, 0, 0)


def test_palette_image_becomes_rgb() -> None:
    image = decode_image(
        encode(
            Image.new("RGB", (64, 64), (10, 200, 30)).convert("P", palette=Image.Palette.ADAPTIVE)
        )
    )
    assert image.mode == "RGB"
    assert image.getpixel((3, 3)) == (10, 200, 30)


def test_first_frame_of_an_animation() -> None:
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    red, _, blue = decode_image(out.getvalue()).getpixel((5, 5))  # type: ignore[misc]
    assert red > 200 and blue < 50


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (100, 50), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    data = encode(image, "JPEG", exif=exif.tobytes())
    assert decode_image(data).size == (50, 100)


def test_large_photo_is_scaled_down() -> None:
    data = encode(Image.new("RGB", (6000, 3000), "white"), "JPEG")
    image = decode_image(data, DecodeLimits(max_side=2000))
    assert max(image.size) == 2000
