"""Value types produced by the reader: text lines, parsed fields and the scan result."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]


class TextLine(msgspec.Struct, frozen=True, kw_only=True):
    """One text box found by the engine: text, corners (clockwise from top-left), score."""

    text: str
    box: Quad
    score: float


class Row(msgspec.Struct, frozen=True, kw_only=True):
    """Text boxes that sit on one printed line, left to right."""

    cells: tuple[TextLine, ...]

    @property
    def text(self) -> str:
        return " ".join(cell.text for cell in self.cells)

    @property
    def score(self) -> float:
        return min((cell.score for cell in self.cells), default=0.0)


class LineItem(msgspec.Struct, frozen=True, kw_only=True):
    """A purchased product line; money in minor units (fen, sen, cents)."""

    name: str
    qty: Decimal | None = None
    unit_price: int | None = None
    amount: int | None = None
    barcode: str | None = None
    score: float = 1.0


class ReceiptFields(msgspec.Struct, frozen=True, kw_only=True):
    """Fields parsed from a receipt's text; money in minor units of `currency`."""

    merchant: str | None = None
    date: dt.date | None = None
    time: dt.time | None = None
    receipt_no: str | None = None
    total: int | None = None
    currency: str | None = None
    items: tuple[LineItem, ...] = ()
    payment_method: str | None = None
    address: str | None = None
    # Labelled amounts besides the total: subtotal, tax, discount, rounding, tendered, change.
    amounts: dict[str, int] = msgspec.field(default_factory=dict[str, int])
    # OCR score of the rows each field was read from (0 when absent).
    field_scores: dict[str, float] = msgspec.field(default_factory=dict[str, float])


class ReceiptScan(msgspec.Struct, frozen=True, kw_only=True):
    """Everything read from one receipt image."""

    fields: ReceiptFields
    lines: tuple[TextLine, ...]
    confidence: float
    elapsed_ms: int
    engine: str
    image_hash: str | None = None
    fingerprint: str | None = None
    # ORB keypoints and ink mask (`ocr.imagematch`): duplicate evidence, never in the CLI JSON.
    image_features: bytes | None = None
    width: int = 0
    height: int = 0
