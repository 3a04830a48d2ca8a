"""Labelled synthetic till receipts: Chinese and English, several store templates and
fonts, with phone-photo degradations. Used by `python -m ocr.eval` and the test suite.

The wording here is drawn independently of the parser: label synonyms, spacing, column
order and date formats vary at random, so the accuracy measured on these images is not
the parser reading back its own rules.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Literal

import msgspec
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ocr.synth_vocab import (
    ADDRESSES,
    CASHIER,
    DATE_LABELS,
    MERCHANTS,
    NUMBER_LABELS,
    PRODUCTS,
    THANKS,
    TOTAL_LABELS,
    Language,
    StoreKind,
)

STORE_KINDS: tuple[StoreKind, ...] = (
    "supermarket",
    "convenience",
    "pharmacy",
    "restaurant",
    "wholesale",
)

# CJK-capable fonts from Debian packages listed in system-packages.txt.
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # SC face
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
)


def available_fonts() -> list[tuple[str, int]]:
    """The CJK fonts installed on this machine (path, face index)."""
    return [(path, index) for path, index in FONT_CANDIDATES if Path(path).is_file()]


class SynthItem(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    qty: Decimal
    unit_price: int
    amount: int


class SynthLabels(msgspec.Struct, frozen=True, kw_only=True):
    """Ground truth for one generated receipt; money in minor units."""

    language: Language
    store: StoreKind
    merchant: str
    date: dt.date
    time: dt.time | None
    receipt_no: str | None
    total: int
    currency: str | None
    items: tuple[SynthItem, ...]
    font: str
    degraded: bool
    currency_printed: bool = True


class SynthReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """A generated receipt: JPEG or PNG bytes and its labels."""

    image: bytes
    labels: SynthLabels


# ------------------------------------------------------------------ content

Segment = tuple[str, float, Literal["l", "r", "c"]]  # text, x as a fraction of the width, anchor


def _money(value: int, rng: random.Random, symbol: str) -> str:
    text = f"{value // 100}.{value % 100:02d}"
    if value >= 100_000 and rng.random() < 0.5:
        text = f"{value // 100:,}.{value % 100:02d}"
    return f"{symbol}{text}" if symbol else text


def _format_date(
    date: dt.date, time: dt.time | None, lang: Language, rng: random.Random, *, us: bool = False
) -> str:
    months = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    y, m, d = date.year, date.month, date.day
    if lang == "zh":
        formats = (
            f"{y}-{m:02d}-{d:02d}",
            f"{y}/{m:02d}/{d:02d}",
            f"{y}年{m}月{d}日",
            f"{y}.{m:02d}.{d:02d}",
            f"{y}{m:02d}{d:02d}",
            f"{y}-{m}-{d}",
        )
    elif us:  # US receipts write the month first
        formats = (
            f"{m:02d}/{d:02d}/{y}",
            f"{m:02d}-{d:02d}-{y}",
            f"{m}/{d}/{y % 100:02d}",
            f"{months[m - 1].title()} {d}, {y}",
            f"{d:02d} {months[m - 1]} {y}",
        )
    else:
        formats = (
            f"{d:02d}/{m:02d}/{y}",
            f"{d:02d}-{m:02d}-{y}",
            f"{d:02d} {months[m - 1]} {y}",
            f"{d:02d}/{m:02d}/{y % 100:02d}",
            f"{y}-{m:02d}-{d:02d}",
            f"{months[m - 1].title()} {d}, {y}",
            f"{d:02d}-{months[m - 1].title()}-{y % 100:02d}",
        )
    text = rng.choice(formats)
    if time is not None:
        if lang == "en" and rng.random() < 0.3:
            hour = time.hour % 12 or 12
            clock = f"{hour:02d}:{time.minute:02d} {'PM' if time.hour >= 12 else 'AM'}"
        elif rng.random() < 0.5:
            clock = f"{time.hour:02d}:{time.minute:02d}:{time.second:02d}"
        else:
            clock = f"{time.hour:02d}:{time.minute:02d}"
        text = f"{text}{rng.choice(('  ', ' ', '   '))}{clock}"
    return text


def _receipt_number(rng: random.Random, date: dt.date) -> str:
    style = rng.randrange(5)
    if style == 0:
        return f"{date:%Y%m%d}{rng.randrange(10**5, 10**6)}"
    if style == 1:
        return f"{rng.randrange(10**6, 10**8)}"
    if style == 2:
        return f"CS{rng.randrange(10**5, 10**7)}"
    if style == 3:
        return f"{rng.choice('ABTKP')}{rng.randrange(1, 9)}-{rng.randrange(10**4, 10**6)}"
    return f"{rng.randrange(1, 99):02d}{rng.randrange(10**6, 10**8)}"


def build_lines(
    labels: SynthLabels, rng: random.Random, symbol: str, address: str
) -> list[list[Segment]]:
    """The segments of one synthetic receipt, line by line.

    Why long: the generator lays out one receipt top to bottom; each block is a few random
    choices that the next block's layout depends on.
    """
    lang = labels.language
    zh = lang == "zh"
    sep_char = rng.choice("-=*.")
    separator: list[Segment] = [(sep_char * 40, 0.0, "l")]
    colon = rng.choice([":", "：", ": ", " "] if zh else [":", " : ", ": ", " "])
    lines: list[list[Segment]] = []
    center = rng.random() < 0.6
    lines.append([(labels.merchant, 0.5, "c")] if center else [(labels.merchant, 0.0, "l")])
    if rng.random() < 0.7:
        lines.append([(("地址:" if zh and rng.random() < 0.5 else "") + address, 0.0, "l")])
    if rng.random() < 0.6:
        tel = f"{rng.randrange(10, 99)}-{rng.randrange(1000000, 9999999)}"
        lines.append([(("电话: " if zh else "TEL: ") + tel, 0.0, "l")])
    if not zh and rng.random() < 0.5:
        lines.append([(f"GST REG NO: {rng.randrange(10**11, 10**12)}", 0.0, "l")])
    if rng.random() < 0.5:
        heading = rng.choice(
            ("购物小票", "销售小票", "收银小票")
            if zh
            else ("TAX INVOICE", "RECEIPT", "CASH SALES", "OFFICIAL RECEIPT")
        )
        lines.append([(heading, 0.5, "c")])
    lines.append(separator)
    us = symbol.strip() == "$"
    date_text = _format_date(labels.date, labels.time, lang, rng, us=us)
    date_label = rng.choice(DATE_LABELS[lang])
    date_line: list[Segment] = [((date_label + colon if date_label else "") + date_text, 0.0, "l")]
    number_line: list[Segment] = []
    if labels.receipt_no is not None:
        number_line = [(rng.choice(NUMBER_LABELS[lang]) + colon + labels.receipt_no, 0.0, "l")]
    cashier: list[Segment] = [(rng.choice(CASHIER[lang]), 0.0, "l")]
    header_rows: list[list[Segment]] = (
        [date_line, number_line, cashier]
        if rng.random() < 0.5
        else [number_line, date_line, cashier]
    )
    if rng.random() < 0.3 and number_line:  # number and cashier on one row
        both: list[Segment] = [number_line[0], (cashier[0][0], 1.0, "r")]
        header_rows = [date_line, both]
    lines.extend(row for row in header_rows if row)
    lines.append(separator)

    layout = rng.randrange(4)  # 0 one row, 1 two rows, 2 "qty x price", 3 price-before-qty
    qty_col, price_col = (0.60, 0.78) if layout != 3 else (0.78, 0.60)
    if layout in (0, 3) and rng.random() < 0.8:
        head = ("品名", "数量", "单价", "金额") if zh else ("DESCRIPTION", "QTY", "PRICE", "AMOUNT")
        lines.append(
            [
                (head[0], 0.0, "l"),
                (head[1], qty_col, "r"),
                (head[2], price_col, "r"),
                (head[3], 1.0, "r"),
            ]
        )
    for item in labels.items:
        qty_text = str(item.qty)
        price = _money(item.unit_price, rng, "")
        amount = _money(item.amount, rng, "")
        if layout in (0, 3):
            lines.append(
                [
                    (item.name, 0.0, "l"),
                    (qty_text, qty_col, "r"),
                    (price, price_col, "r"),
                    (amount, 1.0, "r"),
                ]
            )
        elif layout == 1:
            lines.append([(item.name, 0.0, "l")])
            code = f"69{rng.randrange(10**10, 10**11)}"
            lines.append(
                [(code, 0.04, "l"), (qty_text, 0.6, "r"), (price, 0.78, "r"), (amount, 1.0, "r")]
            )
        else:
            lines.append([(item.name, 0.0, "l")])
            lines.append([(f"{qty_text} x {price}", 0.08, "l"), (amount, 1.0, "r")])
    lines.append(separator)

    subtotal = sum(item.amount for item in labels.items)
    footer: list[list[Segment]] = []
    pre_total = subtotal
    if zh:
        if rng.random() < 0.4:
            footer.append([("小计" + colon, 0.0, "l"), (_money(subtotal, rng, ""), 1.0, "r")])
        discount = subtotal - labels.total
        if discount > 0:
            footer.append(
                [
                    (rng.choice(("优惠", "会员优惠", "折扣")) + colon, 0.0, "l"),
                    ("-" + _money(discount, rng, ""), 1.0, "r"),
                ]
            )
        if rng.random() < 0.3:
            footer.append([(f"数量{colon}{sum(int(i.qty) for i in labels.items)}", 0.0, "l")])
    else:
        tax = labels.total - subtotal  # includes rounding
        if tax != 0 or rng.random() < 0.5:
            footer.append(
                [
                    (rng.choice(("SUBTOTAL", "Sub Total", "Sub-total")), 0.0, "l"),
                    (_money(subtotal, rng, ""), 1.0, "r"),
                ]
            )
        if tax > 0:
            rounding = rng.choice((0, 0, -1, -2, 1, 2)) if tax > 3 else 0
            tax_amount = tax - rounding
            pre_total = subtotal + tax_amount
            footer.append(
                [
                    (rng.choice(("GST 6%", "SST 6%", "Service Charge 10%", "TAX")), 0.0, "l"),
                    (_money(tax_amount, rng, ""), 1.0, "r"),
                ]
            )
            if rounding:
                footer.append(
                    [
                        (rng.choice(("Rounding", "Rounding Adj", "ROUNDING")), 0.0, "l"),
                        (("-" if rounding < 0 else "") + _money(abs(rounding), rng, ""), 1.0, "r"),
                    ]
                )
        if rng.random() < 0.3:
            footer.append([(f"Total Qty: {sum(int(i.qty) for i in labels.items)}", 0.0, "l")])
    total_label = rng.choice(TOTAL_LABELS[lang])
    if "(RM)" in total_label and labels.currency != "MYR":
        total_label = "TOTAL"
    total_text = _money(labels.total, rng, symbol if labels.currency_printed else "")
    if rng.random() < 0.8:
        footer.append([(total_label + colon, 0.0, "l"), (total_text, 1.0, "r")])
    else:
        footer.append([(total_label + colon + " " + total_text, 0.0, "l")])
    del pre_total
    method = rng.randrange(4)
    if method == 0:
        paid = (
            ((labels.total // 1000) + 1) * 1000
            if rng.random() < 0.5
            else ((labels.total // 10000) + 1) * 10000
        )
        change = paid - labels.total
        if zh:
            footer.append([("现金" + colon, 0.0, "l"), (_money(paid, rng, ""), 1.0, "r")])
            footer.append(
                [
                    (rng.choice(("找零", "找赎")) + colon, 0.0, "l"),
                    (_money(change, rng, ""), 1.0, "r"),
                ]
            )
        else:
            footer.append(
                [
                    (rng.choice(("CASH", "Cash Tendered", "TENDERED")), 0.0, "l"),
                    (_money(paid, rng, ""), 1.0, "r"),
                ]
            )
            footer.append(
                [
                    (rng.choice(("CHANGE", "Change Due", "Change")), 0.0, "l"),
                    (_money(change, rng, ""), 1.0, "r"),
                ]
            )
    else:
        names = ("微信支付", "支付宝", "银行卡") if zh else ("VISA", "MASTERCARD", "TOUCH N GO")
        footer.append(
            [(names[method - 1] + colon, 0.0, "l"), (_money(labels.total, rng, ""), 1.0, "r")]
        )
    lines.extend(footer)
    lines.append(separator)
    lines.append([(rng.choice(THANKS[lang]), 0.5, "c")])
    return lines


def make_labels(
    rng: random.Random,
    *,
    language: Language | None = None,
    store: StoreKind | None = None,
    degraded: bool = True,
) -> tuple[SynthLabels, str, str]:
    """Random ground truth plus the currency symbol and address to print."""
    lang: Language = language or rng.choice(("zh", "en"))
    kind: StoreKind = store or rng.choice(STORE_KINDS)
    merchant = rng.choice(MERCHANTS[lang][kind])
    date = dt.date(2018, 1, 1) + dt.timedelta(days=rng.randrange(0, 9 * 365))
    time = (
        dt.time(rng.randrange(7, 23), rng.randrange(60), rng.randrange(60))
        if rng.random() < 0.9
        else None
    )
    products = rng.sample(PRODUCTS[lang][kind], k=min(len(PRODUCTS[lang][kind]), rng.randint(1, 6)))
    items: list[SynthItem] = []
    for name, list_price in products:
        qty = Decimal(rng.choice((1, 1, 1, 2, 2, 3, 4, 6, 12 if kind == "wholesale" else 1)))
        price = max(50, list_price + rng.choice((0, 0, 10, -10, 50, 100)))
        items.append(SynthItem(name=name, qty=qty, unit_price=price, amount=int(price * qty)))
    subtotal = sum(item.amount for item in items)
    if lang == "zh":
        symbol = rng.choice(("¥", "￥", ""))
        discount = rng.choice((0, 0, 0, subtotal % 100, 500 if subtotal > 5000 else 0))
        total = subtotal - discount
        currency = "CNY"
    else:
        symbol, currency = rng.choice((("RM", "MYR"), ("RM ", "MYR"), ("$", "USD")))
        tax = rng.choice((0, round(subtotal * 0.06), round(subtotal * 0.1)))
        total = subtotal + tax
    # US tills always print "$"; elsewhere the symbol is often left out.
    printed = symbol == "$" or (bool(symbol) and rng.random() < 0.7)
    if lang == "en" and not printed:
        currency = None  # nothing on the paper says which currency
    labels = SynthLabels(
        currency_printed=printed,
        language=lang,
        store=kind,
        merchant=merchant,
        date=date,
        time=dt.time(time.hour, time.minute) if time else None,
        receipt_no=_receipt_number(rng, date) if rng.random() < 0.9 else None,
        total=total,
        currency=currency,
        items=tuple(items),
        font="",
        degraded=degraded,
    )
    return labels, symbol, rng.choice(ADDRESSES[lang])


# ------------------------------------------------------------------ rendering


def render_paper(
    lines: Sequence[list[Segment]], font_path: str, font_index: int, rng: random.Random
) -> Image.Image:
    size = rng.randint(20, 26)
    font = ImageFont.truetype(font_path, size, index=font_index)
    width = rng.randint(24, 30) * size
    margin = rng.randint(size // 2, size * 2)
    line_height = int(size * rng.uniform(1.45, 1.9))
    height = margin * 2 + line_height * len(lines)
    paper = rng.randint(235, 255)
    image = Image.new("L", (width + 2 * margin, height), paper)
    draw = ImageDraw.Draw(image)
    ink = rng.randint(0, 60)
    for row, segments in enumerate(lines):
        y = margin + row * line_height
        for content, fraction, anchor in segments:
            text = content
            if set(text) <= set("-=*."):
                text = text[0] * int(width / max(draw.textlength(text[0], font=font), 1))
            x = margin + fraction * width
            draw.text(
                (x, y), text, font=font, fill=ink, anchor={"l": "la", "r": "ra", "c": "ma"}[anchor]
            )
    return image


def degrade_photo(paper: Image.Image, rng: random.Random) -> Image.Image:
    """Phone-photo effects: background, perspective, rotation, shadow, blur, noise, scale."""
    w, h = paper.size
    pad = int(0.08 * max(w, h))
    background = Image.new(
        "RGB", (w + 2 * pad, h + 2 * pad), tuple(rng.randint(60, 200) for _ in range(3))
    )
    tint = paper.convert("RGB")
    background.paste(tint, (pad, pad))
    image = background
    # perspective: move each corner by up to 3 % of the size
    bw, bh = image.size
    jitter = [(rng.uniform(-0.03, 0.03) * bw, rng.uniform(-0.03, 0.03) * bh) for _ in range(4)]
    quad = (
        jitter[0][0],
        jitter[0][1],
        jitter[1][0],
        bh + jitter[1][1],
        bw + jitter[2][0],
        bh + jitter[2][1],
        bw + jitter[3][0],
        jitter[3][1],
    )
    image = image.transform((bw, bh), Image.Transform.QUAD, quad, Image.Resampling.BICUBIC)
    image = image.rotate(
        rng.uniform(-7, 7), resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(90, 90, 90)
    )
    pixels: NDArray[np.float32] = np.asarray(image, dtype=np.float32).copy()
    # shadow: a linear gradient darkening one side
    hh, ww = pixels.shape[:2]
    direction = rng.uniform(0, 2 * np.pi)
    grid: NDArray[np.float32] = np.mgrid[0:hh, 0:ww].astype(np.float32)
    yy, xx = grid[0], grid[1]
    ramp = (np.cos(direction) * xx / ww + np.sin(direction) * yy / hh + 1) / 2
    strength = rng.uniform(0.0, 0.4)
    pixels *= (1 - strength * ramp)[..., None]
    generator = np.random.default_rng(rng.randrange(2**32))
    noise = generator.normal(0.0, rng.uniform(0, 8), size=(hh, ww, 3)).astype(np.float32)
    pixels = pixels + noise
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    radius = rng.uniform(0, 1.0)
    if radius > 0.2:
        image = image.filter(ImageFilter.GaussianBlur(radius))
    scale = rng.uniform(0.7, 1.0)
    if scale < 0.97:
        image = image.resize(
            (int(image.width * scale), int(image.height * scale)), Image.Resampling.BILINEAR
        )
    return image


def generate(
    seed: int,
    *,
    degrade: bool = True,
    language: Language | None = None,
    store: StoreKind | None = None,
) -> SynthReceipt:
    """One labelled receipt, fully determined by `seed`."""
    rng = random.Random(seed)
    labels, symbol, address = make_labels(rng, language=language, store=store, degraded=degrade)
    fonts = available_fonts()
    if not fonts:
        raise RuntimeError("no CJK font installed; install the packages in system-packages.txt")
    font_path, font_index = rng.choice(fonts)
    labels = msgspec.structs.replace(labels, font=Path(font_path).name)
    image = render_paper(build_lines(labels, rng, symbol, address), font_path, font_index, rng)
    out = io.BytesIO()
    if degrade:
        degrade_photo(image, rng).save(out, "JPEG", quality=rng.randint(40, 90))
    else:
        image.save(out, "PNG")
    return SynthReceipt(image=out.getvalue(), labels=labels)


def generate_set(count: int, *, seed: int = 0, degrade: bool = True) -> list[SynthReceipt]:
    """`count` receipts cycling through languages and store kinds."""
    receipts: list[SynthReceipt] = []
    for i in range(count):
        language: Language = ("zh", "en")[i % 2]
        store = STORE_KINDS[(i // 2) % len(STORE_KINDS)]
        receipts.append(
            generate(seed * 100_003 + i, degrade=degrade, language=language, store=store)
        )
    return receipts
