"""Claims tests drive the job runner themselves and read receipts with a fake OCR reader."""

from __future__ import annotations

import io
import random
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageDraw

from ocr import (
    LineItem,
    ReceiptFields,
    ReceiptScan,
    TextLine,
    content_fingerprint,
    decode_image,
    hash_distance,
    image_features,
    image_hash,
)
from server.settings import Settings
from tests.conftest import make_settings
from tests.fakes.wechat import FakeWechat

SKU_NAME = "农夫山泉天然矿泉水 550ml"


def today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def noise_image(seed: int, edit: bool = False) -> bytes:
    """A distinct photo per seed; ``edit`` paints a small patch (a near copy)."""
    rng = random.Random(seed)
    small = Image.new("L", (16, 24))
    small.putdata([rng.randrange(256) for _ in range(16 * 24)])
    image = small.resize((320, 480), Image.Resampling.BICUBIC).convert("RGB")
    if edit:
        ImageDraw.Draw(image).rectangle((250, 400, 290, 430), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class FakeReader:
    """Stands in for the OCR engine: fields registered per photo (by its bytes, else by
    perceptual hash for a near copy); image hash and keypoint features are the real ones."""

    def __init__(self) -> None:
        self.known: list[tuple[str, ReceiptFields]] = []
        self.exact: dict[bytes, ReceiptFields] = {}
        self.calls = 0

    def register(self, data: bytes, **fields: Any) -> bytes:
        self.known.append((image_hash(decode_image(data)), self.fields(**fields)))
        self.exact[data] = self.known[-1][1]
        return data

    @staticmethod
    def fields(
        *,
        receipt_no: str = "R1",
        total: int = 3000,
        qty: int = 2,
        day: date | None = None,
        merchant: str = "联华超市",
        clock: time | None = None,
    ) -> ReceiptFields:
        return ReceiptFields(
            merchant=merchant,
            date=day or today(),
            time=clock,
            receipt_no=receipt_no,
            total=total,
            currency="CNY",
            items=(LineItem(name=SKU_NAME, qty=Decimal(qty), amount=total),),
            field_scores={"total": 0.98, "date": 0.97},
        )

    async def __call__(self, data: bytes) -> ReceiptScan:
        self.calls += 1
        image = decode_image(data)
        found = image_hash(image)
        fields = self.exact.get(data) or next(
            (f for h, f in self.known if hash_distance(h, found) <= 10), ReceiptFields()
        )
        box = ((10.0, 10.0), (200.0, 10.0), (200.0, 30.0), (10.0, 30.0))
        return ReceiptScan(
            fields=fields,
            lines=(TextLine(text=fields.merchant or "?", box=box, score=0.97),),
            confidence=0.95 if fields.total else 0.2,
            elapsed_ms=1,
            engine="fake",
            image_hash=found,
            fingerprint=content_fingerprint(fields),
            image_features=image_features(image),
            width=image.width,
            height=image.height,
        )


@pytest.fixture
def settings(database_url: str, tmp_path: Path, fake_wechat: FakeWechat) -> Settings:
    return make_settings(database_url, tmp_path, fake_wechat.base_url, jobs_in_process=False)


@pytest.fixture
def reader() -> FakeReader:
    return FakeReader()
