"""Accuracy floors on fixed sets of degraded synthetic receipts."""

from __future__ import annotations

import pytest

from ocr.engines import OcrEngine
from ocr.eval import evaluate
from ocr.synth import generate, generate_set


def test_generator_is_deterministic_and_varied() -> None:
    a, b = generate(7), generate(7)
    assert a.image == b.image and a.labels == b.labels
    assert generate(8).image != a.image
    receipts = generate_set(10, seed=3, degrade=False)
    assert {r.labels.language for r in receipts} == {"zh", "en"}
    assert len({r.labels.store for r in receipts}) == 5
    assert len({r.labels.font for r in receipts}) >= 2


def test_small_degraded_set_meets_floors(engine: OcrEngine) -> None:
    report = evaluate(generate_set(12, seed=2024))
    assert report.count == 12
    assert report.accuracy["total"] >= 11 / 12, report.failures
    assert report.accuracy["date"] >= 11 / 12, report.failures
    assert report.accuracy["merchant"] >= 0.75, report.failures
    assert report.accuracy["receipt_no"] >= 0.75
    assert report.accuracy["items"] >= 0.5


@pytest.mark.slow
def test_degraded_set_total_and_date_at_98_percent(engine: OcrEngine) -> None:
    report = evaluate(generate_set(100, seed=7))
    assert report.accuracy["total"] >= 0.98, report.failures
    assert report.accuracy["date"] >= 0.98, report.failures
