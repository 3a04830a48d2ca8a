"""The `ocr scan` command's JSON-lines contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from ocr.cli import ocr_group
from ocr.engines import OcrEngine
from tests.ocr.factories import encode, render_receipt


def test_scan_prints_one_json_object_per_image(tmp_path: Path, engine: OcrEngine) -> None:
    good = tmp_path / "good.jpg"
    good.write_bytes(
        encode(render_receipt(["SHOP ONE", "Date: 25/12/2018", "TOTAL RM 31.25"]), "JPEG")
    )
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"<!doctype html><title>oops</title>")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")

    result = CliRunner().invoke(ocr_group, ["scan", str(good), str(bad), str(empty)])

    assert result.exit_code == 1  # one image failed, the others still ran
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["file"] for r in records] == [str(good), str(bad), str(empty)]
    assert records[0]["total"] == "31.25"
    assert records[0]["currency"] == "MYR"
    assert records[0]["date"] == "2018-12-25"
    assert records[0]["time"] is None
    assert isinstance(records[0]["elapsed_ms"], int)
    assert records[1] == {
        "file": str(bad),
        "error": {"code": "image_format_unsupported", "message": records[1]["error"]["message"]},
    }
    assert records[2]["error"]["code"] == "image_empty"


def test_all_good_exits_zero(tmp_path: Path, engine: OcrEngine) -> None:
    path = tmp_path / "r.png"
    path.write_bytes(encode(render_receipt(["合计: 12.00"])))
    result = CliRunner().invoke(ocr_group, ["scan", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total"] == "12.00"


def test_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        ocr_group, ["scan", "--engine", "tesseract", str(tmp_path / "x.jpg")]
    )
    assert result.exit_code == 2


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    path = tmp_path / "r.png"
    path.write_bytes(encode(render_receipt(["合计: 12.00"])))
    done = subprocess.run(
        [sys.executable, "-m", "ocr", "scan", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"] == "12.00"
