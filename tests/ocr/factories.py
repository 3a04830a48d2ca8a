"""Plain builders for OCR tests: rows from receipt text, rendered receipt images."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ocr.receipt import Row, TextLine

CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def make_rows(text: str, score: float = 0.97) -> list[Row]:
    """Rows from receipt text: one row per line, cells split on '|'."""
    rows: list[Row] = []
    for y, line in enumerate(line for line in text.strip().splitlines() if line.strip()):
        cells: list[TextLine] = []
        for x, cell in enumerate(line.split("|")):
            x0, y0 = x * 200.0, y * 30.0
            box = ((x0, y0), (x0 + 150.0, y0), (x0 + 150.0, y0 + 20.0), (x0, y0 + 20.0))
            cells.append(TextLine(text=cell.strip(), box=box, score=score))
        rows.append(Row(cells=tuple(cells)))
    return rows


def render_receipt(lines: list[str], *, size: int = 24, rotate: float = 0.0) -> Image.Image:
    """A plain receipt image with one text line per entry."""
    font = ImageFont.truetype(CJK_FONT, size)
    width = 20 * size
    image = Image.new("RGB", (width, size * 2 * (len(lines) + 1)), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((size, size + i * size * 2), line, font=font, fill="black")
    if rotate:
        image = image.rotate(rotate, expand=True, fillcolor="white")
    return image


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    """Image bytes in a given format."""
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def font_available() -> bool:
    """True when the CJK test font from system-packages.txt is installed."""
    return Path(CJK_FONT).is_file()
