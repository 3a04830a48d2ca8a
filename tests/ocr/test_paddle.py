"""The PaddleOCR backend, offline, on model folders assembled from rapidocr's ONNX files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ocr.engines import PaddleOcrEngine, write_paddle_model_dirs
from ocr.errors import EngineUnavailable
from ocr.scan import scan_receipt
from tests.ocr.factories import encode, render_receipt


def test_model_folders_hold_onnx_and_yaml(tmp_path: Path) -> None:
    det, rec = write_paddle_model_dirs(tmp_path)
    for folder in (det, rec):
        assert (folder / "inference.onnx").stat().st_size > 1_000_000
        assert "model_name: PP-OCRv6_small_" in (folder / "inference.yml").read_text("utf-8")
    rec_yaml = (rec / "inference.yml").read_text("utf-8")
    assert "CTCLabelDecode" in rec_yaml and '"合"' in rec_yaml


def test_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable):
        PaddleOcrEngine(det_model_dir=tmp_path / "nope", rec_model_dir=tmp_path / "nope")


def test_paddle_backend_reads_a_receipt_offline(tmp_path: Path) -> None:
    pytest.importorskip("paddleocr", reason="install the 'paddle' extra to test this backend")
    det, rec = write_paddle_model_dirs(tmp_path)
    engine = PaddleOcrEngine(det_model_dir=det, rec_model_dir=rec)
    lines = ["华润万家超市(南山店)", "日期: 2026-11-20 14:32", "合计:      186.30"]
    scan = scan_receipt(encode(render_receipt(lines, rotate=4.0), "JPEG"), engine=engine)
    assert scan.engine == "paddle"
    assert scan.fields.merchant == "华润万家超市(南山店)"
    assert scan.fields.date == dt.date(2026, 11, 20)
    assert scan.fields.total == 18630
