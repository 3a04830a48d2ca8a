"""A quote as a PDF in Chinese and English that a dealer can forward (fpdf2 + a CJK font).

The font is the WenQuanYi Zen Hei of the Debian package listed in ``system-packages.txt``;
set ``CHANNELHUB_PDF_FONT`` to use another TrueType/TTC file.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import get_or_404
from server.dealers import get_dealer
from server.errors import Unavailable
from server.messages import texts
from server.quotes.models import Quote
from server.quotes.service import approval_reasons, shown_status

if TYPE_CHECKING:
    from fpdf import FPDF

FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


def font_path() -> Path:
    """The CJK font file, or a clear 503 naming the package to install."""
    configured = os.environ.get("CHANNELHUB_PDF_FONT")
    for candidate in ((configured,) if configured else ()) + FONT_PATHS:
        path = Path(candidate)
        if path.is_file():
            return path
    raise Unavailable(
        "pdf_font_missing",
        "服务器缺少中文字体，无法生成 PDF（请安装 fonts-wqy-zenhei）",
        "No CJK font for PDFs: install fonts-wqy-zenhei (see system-packages.txt) "
        "or set CHANNELHUB_PDF_FONT",
    )


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"


# Every label in both languages: the dealer forwards the PDF to whoever reads it.
_TITLE = ("报 价 单", "QUOTATION")
_COLUMNS = (
    ("序号", "No."),
    ("商品", "Product"),
    ("数量", "Qty"),
    ("单价", "Unit price"),
    ("政策金额", "Policy"),
    ("报价金额", "Quoted"),
    ("折让", "Discount"),
)
_WIDTHS = (10, 62, 18, 26, 28, 28, 18)
_GIFT = ("赠品", "gift")
_TOTALS = (
    ("目录价合计", "List total"),
    ("政策价合计", "Policy total"),
    ("报价合计", "Quoted total"),
)
_REASONS = ("需审批原因", "Why HQ approves this quote")
_TRAIL = ("审批记录", "Approval trail")
_NOTE = (
    "说明：金额单位为人民币元；报价在有效期内有效，价格以确认时锁定的报价快照为准。",
    "Amounts are in yuan (CNY). The quote holds until it expires, at the prices pinned "
    "when it was made.",
)


def _both(words: tuple[str, str]) -> str:
    return f"{words[0]} {words[1]}"


def render_quote_pdf(quote: Quote, dealer_name: str, now: datetime, timezone: str) -> bytes:
    """The quote as PDF bytes in zh-CN and English: header, lines, totals, validity, approvals."""
    import logging

    from fpdf import FPDF

    logging.getLogger("fontTools").setLevel(logging.ERROR)
    zone = ZoneInfo(timezone)
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"报价单 Quote {quote.id}")
    pdf.add_font("zh", fname=str(font_path()))
    pdf.add_page()
    pdf.set_font("zh", size=18)
    pdf.cell(0, 12, _both(_TITLE), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("zh", size=10)
    status = texts(f"quote.status.{shown_status(quote, now)}")
    for label, value in (
        (("报价编号", "Quote no."), str(quote.id)),
        (("经销商", "Dealer"), dealer_name),
        (("报价日期", "Date"), quote.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")),
        (
            ("有效期至", "Valid until"),
            quote.valid_until.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        ),
        (("状态", "Status"), f"{status.zh} ({status.en})"),
    ):
        pdf.cell(44, 7, f"{label[0]} {label[1]}：")
        pdf.cell(0, 7, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _draw_lines(pdf, quote)
    pdf.ln(3)
    for label, fen in zip(
        _TOTALS, (quote.list_amount, quote.policy_amount, quote.amount), strict=True
    ):
        pdf.cell(150, 7, _both(label), align="R")
        pdf.cell(40, 7, _yuan(fen), align="R", new_x="LMARGIN", new_y="NEXT")
    if quote.needs_approval:
        pdf.ln(4)
        pdf.cell(0, 7, _both(_REASONS), new_x="LMARGIN", new_y="NEXT")
        for code, params in approval_reasons(quote):
            for text in texts(f"quote.{code}", **params):
                pdf.cell(0, 6, text[:90], new_x="LMARGIN", new_y="NEXT")
    if quote.decisions:
        pdf.ln(4)
        pdf.cell(0, 7, _both(_TRAIL), new_x="LMARGIN", new_y="NEXT")
        for decision in quote.decisions:
            when = decision.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            action = texts(f"quote.action.{decision.action}")
            text = f"{when}  {action.zh} ({action.en})  {decision.comment}"
            pdf.cell(0, 6, text[:90], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("zh", size=8)
    for note in _NOTE:
        pdf.multi_cell(0, 5, note, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _draw_lines(pdf: FPDF, quote: Quote) -> None:
    """The table of lines under a header in both languages (zh above en)."""
    pdf.set_fill_color(235, 235, 235)
    for row, size in ((0, 10), (1, 7)):
        pdf.set_font("zh", size=size)
        for width, header in zip(_WIDTHS, _COLUMNS, strict=True):
            border = "LBR" if row else "LTR"
            pdf.cell(width, 5 if row else 7, header[row], border=border, align="C", fill=True)
        pdf.ln()
    pdf.set_font("zh", size=10)
    for index, line in enumerate(quote.lines, start=1):
        gift = f"（{_GIFT[0]} {_GIFT[1]}）" if line.gift else ""
        name = f"{line.sku_name or line.sku_code}{gift}"
        unit = (
            line.requested_unit_price
            if line.requested_unit_price is not None
            else (line.amount // line.qty if line.qty else 0)
        )
        cells = (
            str(index),
            name[:24],
            str(line.qty),
            _yuan(unit),
            _yuan(line.policy_amount),
            _yuan(line.amount),
            f"{line.extra_discount_bp / 100:.1f}%",
        )
        for width, text, align in zip(_WIDTHS, cells, "CLRRRRR", strict=True):
            pdf.cell(width, 7, text, border=1, align=align)
        pdf.ln()


async def quote_pdf(
    session: AsyncSession, quote_id: uuid.UUID, now: datetime, timezone: str
) -> bytes:
    """Load a quote (dealer scoping applies: another dealer's quote is 404) and render it."""
    quote = await get_or_404(session, Quote, quote_id, "quote")
    dealer = await get_dealer(session, quote.dealer_id)
    return render_quote_pdf(quote, dealer.name, now, timezone)
