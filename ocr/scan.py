"""The pipeline: bytes -> decoded image -> text boxes -> rows -> fields -> ReceiptScan.

`scan_receipt` is synchronous and CPU-bound. Servers run it in a worker thread or a process
pool (`init_worker` loads the engine once per worker) so it never blocks an event loop.
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import time
from concurrent.futures import Executor
from typing import Any

import numpy as np
from PIL import Image

from ocr.decode import DEFAULT_LIMITS, DecodeLimits, decode_image
from ocr.engines import EngineName, OcrEngine, get_engine
from ocr.fields import parse_fields
from ocr.fingerprint import content_fingerprint, image_hash
from ocr.imagematch import image_features
from ocr.layout import group_rows
from ocr.receipt import ReceiptFields, ReceiptScan, TextLine
from ocr.textnorm import format_minor


def _confidence(fields: ReceiptFields, lines: list[TextLine]) -> float:
    """0..1: how far the fields can be trusted without a person looking."""
    if not lines:
        return 0.0
    mean_score = statistics.fmean(line.score for line in lines)
    key = [fields.field_scores[name] for name in ("total", "date") if name in fields.field_scores]
    confidence = 0.5 * mean_score + 0.5 * min(key) if key else 0.3 * mean_score
    if fields.total is None:
        confidence *= 0.5
    if fields.date is None:
        confidence *= 0.8
    return round(confidence, 3)


def scan_image(
    image: Image.Image, *, engine: OcrEngine | EngineName = "rapidocr", started: float | None = None
) -> ReceiptScan:
    """Read an already decoded RGB image."""
    started = time.perf_counter() if started is None else started
    reader = get_engine(engine) if isinstance(engine, str) else engine
    pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    lines = reader.read(pixels)
    fields = parse_fields(group_rows(lines))
    return ReceiptScan(
        fields=fields,
        lines=tuple(lines),
        confidence=_confidence(fields, lines),
        elapsed_ms=round((time.perf_counter() - started) * 1000),
        engine=reader.name,
        image_hash=image_hash(image),
        fingerprint=content_fingerprint(fields),
        image_features=image_features(image),
        width=image.width,
        height=image.height,
    )


def scan_receipt(
    data: bytes,
    *,
    engine: OcrEngine | EngineName = "rapidocr",
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> ReceiptScan:
    """Read one receipt image from its bytes; raises `OcrError` subclasses on bad input."""
    started = time.perf_counter()
    image = decode_image(data, limits)
    return scan_image(image, engine=engine, started=started)


def init_worker(engine: EngineName = "rapidocr", threads: int | None = None) -> None:
    """Process-pool initializer: load the engine once and warm it up on a blank image."""
    reader = get_engine(engine, threads=threads)
    reader.read(np.full((64, 256, 3), 255, dtype=np.uint8))


def _scan_with_named_engine(data: bytes, engine: EngineName, limits: DecodeLimits) -> ReceiptScan:
    return scan_receipt(data, engine=get_engine(engine), limits=limits)


async def scan_receipt_async(
    data: bytes,
    *,
    executor: Executor | None = None,
    engine: EngineName = "rapidocr",
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> ReceiptScan:
    """Run `scan_receipt` off the event loop (default thread pool, or a process pool)."""
    loop = asyncio.get_running_loop()
    call = functools.partial(_scan_with_named_engine, data, engine, limits)
    return await loop.run_in_executor(executor, call)


def scan_to_json(scan: ReceiptScan, file: str) -> dict[str, Any]:
    """The CLI's JSON object for one image (the contract other tools rely on)."""
    fields = scan.fields
    return {
        "file": file,
        "merchant": fields.merchant,
        "date": fields.date.isoformat() if fields.date else None,
        "time": fields.time.strftime("%H:%M") if fields.time else None,
        "receipt_no": fields.receipt_no,
        "total": format_minor(fields.total) if fields.total is not None else None,
        "currency": fields.currency,
        "items": [
            {
                "name": item.name,
                "qty": (
                    int(item.qty) if item.qty == item.qty.to_integral_value() else float(item.qty)
                )
                if item.qty is not None
                else None,
                "unit_price": format_minor(item.unit_price)
                if item.unit_price is not None
                else None,
                "amount": format_minor(item.amount) if item.amount is not None else None,
            }
            for item in fields.items
        ],
        "lines": [
            {
                "text": line.text,
                "box": [[round(x, 1), round(y, 1)] for x, y in line.box],
                "score": round(line.score, 4),
            }
            for line in scan.lines
        ],
        "confidence": scan.confidence,
        "elapsed_ms": scan.elapsed_ms,
    }
