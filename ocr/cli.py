"""`channelhub ocr scan IMAGE...`: one JSON object per line per image."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from ocr.engines import ENGINE_NAMES, EngineName, get_engine
from ocr.errors import OcrError
from ocr.scan import scan_receipt, scan_to_json


@click.group(name="ocr")
def ocr_group() -> None:
    """Receipt OCR tools."""


@ocr_group.command(name="scan")
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--engine",
    type=click.Choice(ENGINE_NAMES),
    default="rapidocr",
    show_default=True,
    help="OCR backend: the models shipped in rapidocr, or PaddleOCR (extra 'paddle').",
)
def scan_command(images: tuple[Path, ...], engine: EngineName) -> None:
    """Read receipt images and print one JSON object per image."""
    failed = False
    reader = None
    for path in images:
        try:
            data = path.read_bytes()
        except OSError as exc:
            record: dict[str, object] = {
                "file": str(path),
                "error": {"code": "file_unreadable", "message": str(exc)},
            }
            failed = True
        else:
            try:
                if reader is None:
                    reader = get_engine(engine)  # loaded once, outside the timing
                started = time.perf_counter()
                scan = scan_receipt(data, engine=reader)
                record = scan_to_json(scan, str(path))
                record["elapsed_ms"] = round((time.perf_counter() - started) * 1000)
            except OcrError as exc:
                record = {"file": str(path), "error": {"code": exc.code, "message": exc.message}}
                failed = True
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    if failed:
        sys.exit(1)
