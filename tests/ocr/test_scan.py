"""The whole pipeline on rendered receipts and on bad input."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from PIL import Image

from ocr import scan_receipt, scan_receipt_async
from ocr.engines import OcrEngine
from ocr.errors import OcrError
from ocr.scan import scan_to_json
from tests.ocr.factories import encode, render_receipt

LINES = [
    "华润万家超市(南山店)",
    "单号: 0012026112008341",
    "日期: 2026-11-20 14:32",
    "可口可乐500ml    2 x 3.50     7.00",
    "合计:                 186.30",
    "现金: 200.00   找零: 13.70",
]


@pytest.mark.parametrize("degrees", [0.0, 5.0])
def test_reads_a_rendered_receipt(engine: OcrEngine, degrees: float) -> None:
    data = encode(render_receipt(LINES, rotate=degrees), "JPEG", quality=85)
    scan = scan_receipt(data, engine=engine)
    assert scan.fields.merchant == "华润万家超市(南山店)"
    assert scan.fields.date == dt.date(2026, 11, 20)
    assert scan.fields.time == dt.time(14, 32)
    assert scan.fields.receipt_no == "0012026112008341"
    assert scan.fields.total == 18630
    assert scan.fields.currency == "CNY"
    assert scan.confidence > 0.8
    assert scan.image_hash is not None and scan.fingerprint is not None


def test_json_contract(engine: OcrEngine) -> None:
    scan = scan_receipt(encode(render_receipt(LINES)), engine=engine)
    record = scan_to_json(scan, "r.png")
    assert set(record) == {
        "file", "merchant", "date", "time", "receipt_no", "total", "currency", "items", "lines",
        "confidence", "elapsed_ms",
    }  # fmt: skip
    assert record["date"] == "2026-11-20"
    assert record["time"] == "14:32"
    assert record["total"] == "186.30"
    assert record["items"] == [
        {"name": "可口可乐500ml", "qty": 2, "unit_price": "3.50", "amount": "7.00"}
    ]
    first = record["lines"][0]
    assert set(first) == {"text", "box", "score"} and len(first["box"]) == 4


def test_image_without_text_is_empty_with_zero_confidence(engine: OcrEngine) -> None:
    scan = scan_receipt(encode(Image.new("RGB", (640, 480), (200, 200, 200))), engine=engine)
    assert scan.lines == ()
    assert scan.confidence == 0.0
    assert scan.fields.total is None


BAD_INPUTS = {
    "zero bytes": (b"", "image_empty"),
    "html named .jpg": (b"<html><body>hello</body></html>", "image_format_unsupported"),
    "pdf named .jpg": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "image_format_unsupported"),
    "20000x20000 png": (encode(Image.new("1", (20_000, 20_000))), "image_too_large"),
    "truncated jpeg": (
        encode(render_receipt(LINES), "JPEG")[:1500],
        "image_truncated",
    ),
    "1x1": (encode(Image.new("RGB", (1, 1))), "image_too_small"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gives_a_clear_error_and_the_engine_still_works(
    engine: OcrEngine, name: str
) -> None:
    data, code = BAD_INPUTS[name]
    with pytest.raises(OcrError) as info:
        scan_receipt(data, engine=engine)
    assert info.value.code == code
    assert info.value.message
    after = scan_receipt(encode(render_receipt(["合计: 12.00"])), engine=engine)
    assert after.fields.total == 1200


def test_cmyk_tiff_is_read(engine: OcrEngine) -> None:
    image = render_receipt(["TOTAL 31.25"]).convert("CMYK")
    assert scan_receipt(encode(image, "TIFF"), engine=engine).fields.total == 3125


async def test_async_scan_runs_off_the_event_loop(engine: OcrEngine) -> None:
    data = encode(render_receipt(["合计: 12.00"]))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    scan = await scan_receipt_async(data)
    task.cancel()
    assert scan.fields.total == 1200
    assert ticks >= 3  # the loop kept running while OCR worked


async def test_process_pool_worker_loads_the_engine_once() -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from ocr import init_worker

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        1, mp_context=context, initializer=init_worker, initargs=("rapidocr", 1)
    ) as pool:
        first = await scan_receipt_async(encode(render_receipt(["合计: 12.00"])), executor=pool)
        with pytest.raises(OcrError) as info:
            await scan_receipt_async(b"", executor=pool)
        second = await scan_receipt_async(encode(render_receipt(["TOTAL 3.50"])), executor=pool)
    assert info.value.code == "image_empty"  # the error crosses the process boundary intact
    assert (first.fields.total, second.fields.total) == (1200, 350)
