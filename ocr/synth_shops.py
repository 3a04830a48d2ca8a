"""Receipts of one shop, and copies and edits of a receipt, for the duplicate benchmark.

A shop prints every receipt with one layout (font, size, margins, header, labels) and
numbers them in sequence; only the content changes. That is what a global image hash
cannot tell apart, and what a duplicate check must. Copies are the same paper re-sent,
re-encoded, resized, cropped, rotated, brightened or photographed again; edits are the same
paper with its total or date redrawn (items left as they were).
"""

from __future__ import annotations

import datetime as dt
import io
import random
from pathlib import Path
from typing import Literal

import msgspec
from PIL import Image, ImageEnhance

from ocr.synth import (
    STORE_KINDS,
    SynthLabels,
    SynthReceipt,
    available_fonts,
    build_lines,
    degrade_photo,
    make_labels,
    render_paper,
)
from ocr.synth_vocab import ADDRESSES, MERCHANTS, Language, StoreKind

CopyKind = Literal["exact", "reencoded", "resized", "cropped", "rotated", "brightness", "reshot"]
COPY_KINDS: tuple[CopyKind, ...] = (
    "exact",
    "reencoded",
    "resized",
    "cropped",
    "rotated",
    "brightness",
    "reshot",
)
EditKind = Literal["total", "date"]


class Shop(msgspec.Struct, frozen=True, kw_only=True):
    """A shop: its language, kind, name, address, font and layout seed."""

    seed: int
    language: Language
    store: StoreKind
    merchant: str
    address: str
    font: tuple[str, int]
    symbol: str
    first_number: int
    start: dt.date


def make_shop(seed: int) -> Shop:
    """A shop fully determined by `seed` (one of ten when cycling seeds 0..9)."""
    rng = random.Random(f"shop-{seed}")
    language: Language = ("zh", "en")[seed % 2]
    store = STORE_KINDS[(seed // 2) % len(STORE_KINDS)]
    fonts = available_fonts()
    if not fonts:
        raise RuntimeError("no CJK font installed; install the packages in system-packages.txt")
    return Shop(
        seed=seed,
        language=language,
        store=store,
        merchant=rng.choice(MERCHANTS[language][store]),
        address=rng.choice(ADDRESSES[language]),
        font=rng.choice(fonts),
        symbol=rng.choice(("¥", "")) if language == "zh" else rng.choice(("RM", "$")),
        first_number=rng.randrange(10**5, 10**6),
        start=dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(200)),
    )


def shop_labels(shop: Shop, index: int, seed: int) -> SynthLabels:
    """The `index`-th receipt the shop printed: numbered in sequence, dated in order."""
    rng = random.Random(f"content-{shop.seed}-{index}-{seed}")
    labels, _, _ = make_labels(rng, language=shop.language, store=shop.store, degraded=False)
    prefix = "" if shop.language == "zh" else "CS"
    minutes = index * 97 + rng.randrange(60)
    moment = dt.datetime.combine(shop.start, dt.time(8)) + dt.timedelta(minutes=minutes)
    if moment.hour >= 22 or moment.hour < 8:
        moment = moment.replace(hour=8 + (moment.hour % 12))
    currency = {"¥": "CNY", "RM": "MYR", "$": "USD"}.get(shop.symbol, "CNY")
    return msgspec.structs.replace(
        labels,
        merchant=shop.merchant,
        date=moment.date(),
        time=dt.time(moment.hour, moment.minute),
        receipt_no=f"{prefix}{shop.first_number + index * 3 + rng.randrange(3)}",
        currency=currency if shop.symbol else ("CNY" if shop.language == "zh" else None),
        currency_printed=bool(shop.symbol),
        font=Path(shop.font[0]).name,
    )


def render_shop_paper(shop: Shop, labels: SynthLabels) -> Image.Image:
    """The clean paper: the shop's fixed layout with this receipt's content."""
    layout = random.Random(f"layout-{shop.seed}")
    lines = build_lines(labels, layout, shop.symbol, shop.address)
    return render_paper(lines, shop.font[0], shop.font[1], random.Random(f"paper-{shop.seed}"))


def encode(image: Image.Image, *, photo: bool, quality: int = 85) -> bytes:
    """PNG for a clean scan, JPEG for a photo."""
    out = io.BytesIO()
    if photo:
        image.convert("RGB").save(out, "JPEG", quality=quality)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def shop_receipt(shop: Shop, index: int, *, seed: int = 0, photo: bool = False) -> SynthReceipt:
    """One distinct receipt of `shop`: a clean scan, or a phone photo of it."""
    labels = shop_labels(shop, index, seed)
    paper = render_shop_paper(shop, labels)
    if photo:
        rng = random.Random(f"photo-{shop.seed}-{index}-{seed}")
        image = encode(degrade_photo(paper, rng), photo=True, quality=rng.randint(60, 90))
    else:
        image = encode(paper, photo=False)
    return SynthReceipt(image=image, labels=msgspec.structs.replace(labels, degraded=photo))


def copy_of(receipt: SynthReceipt, shop: Shop, kind: CopyKind, seed: int) -> bytes:
    """A re-submission of the same paper."""
    rng = random.Random(f"copy-{seed}")
    if kind == "exact":
        return receipt.image
    image = Image.open(io.BytesIO(receipt.image)).convert("RGB")
    w, h = image.size
    if kind == "reencoded":
        return encode(image, photo=True, quality=rng.randint(35, 70))
    if kind == "resized":
        scale = rng.uniform(0.45, 0.8)
        image = image.resize((int(w * scale), int(h * scale)), Image.Resampling.BILINEAR)
    elif kind == "cropped":
        box = (
            int(w * rng.uniform(0, 0.08)),
            int(h * rng.uniform(0, 0.12)),
            int(w * rng.uniform(0.92, 1)),
            int(h * rng.uniform(0.88, 1)),
        )
        image = image.crop(box)
    elif kind == "rotated":
        angle = rng.choice((90, -90, 180, rng.uniform(-12, 12)))
        image = image.rotate(angle, expand=True, fillcolor=(120, 120, 120))
    elif kind == "brightness":
        image = ImageEnhance.Brightness(image).enhance(rng.choice((0.7, 0.8, 1.2, 1.3)))
        image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.8, 1.2))
    else:  # reshot: the paper photographed again
        paper = render_shop_paper(shop, receipt.labels)
        image = degrade_photo(paper, rng)
    return encode(image, photo=True, quality=rng.randint(60, 92))


def edited_copy(
    receipt: SynthReceipt, shop: Shop, kind: EditKind, seed: int
) -> tuple[SynthLabels, bytes]:
    """The same paper with its total (or date) redrawn; items and number left as printed."""
    rng = random.Random(f"edit-{seed}")
    labels = receipt.labels
    if kind == "total":
        delta = rng.choice((1, 2, 5, 10)) * 1000
        labels = msgspec.structs.replace(labels, total=labels.total + delta)
    else:
        labels = msgspec.structs.replace(
            labels, date=labels.date + dt.timedelta(days=rng.choice((-40, -9, 7, 30)))
        )
    paper = render_shop_paper(shop, labels)
    if receipt.labels.degraded:
        return labels, encode(degrade_photo(paper, rng), photo=True, quality=85)
    return labels, encode(paper, photo=False)
