"""Shared fixtures: the OCR engine is loaded once per test session, as in a worker."""

from __future__ import annotations

import pytest

from ocr.engines import OcrEngine, get_engine
from tests.ocr.factories import font_available


@pytest.fixture(scope="session")
def engine() -> OcrEngine:
    return get_engine("rapidocr")


@pytest.fixture(scope="session", autouse=True)
def _fonts_installed() -> None:
    if not font_available():
        pytest.fail("CJK fonts missing: install the packages listed in system-packages.txt")
