"""A quote as a PDF in Chinese that a dealer can forward (fpdf2 + a CJK font).

The font is the WenQuanYi Zen Hei of the Debian package listed in ``system-packages.txt``;
set ``CHANNELHUB_PDF_FONT`` to use another TrueType/TTC file.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import get_or_404
from server.dealers import get_dealer
from server.errors import Unavailable
from server.messages import render
from server.quotes.models import Quote
from server.quotes.service import approval_reasons, shown_status

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


def render_quote_pdf(quote: Quote, dealer_name: str, now: datetime, timezone: str) -> bytes:
    """The quote as PDF bytes: header, lines, totals, validity and approval trail.

    Why long: the page is drawn top to bottom in one pass (header, lines, totals, validity,
    approvals); the sections share the drawing cursor.
    """
    import logging

    from fpdf import FPDF

    logging.getLogger("fontTools").setLevel(logging.ERROR)
    zone = ZoneInfo(timezone)
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"报价单 {quote.id}")
    pdf.add_font("zh", fname=str(font_path()))
    pdf.add_page()
    pdf.set_font("zh", size=18)
    pdf.cell(0, 12, "报 价 单", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("zh", size=10)
    status = render(f"quote.status.{shown_status(quote, now)}", "zh")
    for label, value in (
        ("报价编号", str(quote.id)),
        ("经销商", dealer_name),
        ("报价日期", quote.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")),
        ("有效期至", quote.valid_until.astimezone(zone).strftime("%Y-%m-%d %H:%M")),
        ("状态", status),
    ):
        pdf.cell(28, 7, f"{label}：")
        pdf.cell(0, 7, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    widths = (10, 62, 18, 26, 28, 28, 18)
    headers = ("序号", "商品", "数量", "单价", "政策金额", "报价金额", "折让")
    pdf.set_fill_color(235, 235, 235)
    for width, header in zip(widths, headers, strict=True):
        pdf.cell(width, 8, header, border=1, align="C", fill=True)
    pdf.ln()
    for index, line in enumerate(quote.lines, start=1):
        name = f"{line.sku_name or line.sku_code}{'（赠品）' if line.gift else ''}"
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
        for width, text, align in zip(widths, cells, "CLRRRRR", strict=True):
            pdf.cell(width, 7, text, border=1, align=align)
        pdf.ln()
    pdf.ln(3)
    for label, value in (
        ("目录价合计", _yuan(quote.list_amount)),
        ("政策价合计", _yuan(quote.policy_amount)),
        ("报价合计", _yuan(quote.amount)),
    ):
        pdf.cell(150, 7, label, align="R")
        pdf.cell(40, 7, value, align="R", new_x="LMARGIN", new_y="NEXT")
    if quote.needs_approval:
        pdf.ln(4)
        pdf.cell(0, 7, "需审批原因", new_x="LMARGIN", new_y="NEXT")
        for code, params in approval_reasons(quote):
            text = render(f"quote.{code}", "zh", **params)
            pdf.cell(0, 6, text[:90], new_x="LMARGIN", new_y="NEXT")
    if quote.decisions:
        pdf.ln(4)
        pdf.cell(0, 7, "审批记录", new_x="LMARGIN", new_y="NEXT")
        for decision in quote.decisions:
            when = decision.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            action = render(f"quote.action.{decision.action}", "zh")
            text = f"{when}  {action}  {decision.comment}"
            pdf.cell(0, 6, text[:90], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("zh", size=8)
    pdf.multi_cell(
        0, 5, "说明：金额单位为人民币元；报价在有效期内有效，价格以确认时锁定的报价快照为准。"
    )
    return bytes(pdf.output())


async def quote_pdf(
    session: AsyncSession, quote_id: uuid.UUID, now: datetime, timezone: str
) -> bytes:
    """Load a quote (dealer scoping applies: another dealer's quote is 404) and render it."""
    quote = await get_or_404(session, Quote, quote_id, "quote")
    dealer = await get_dealer(session, quote.dealer_id)
    return render_quote_pdf(quote, dealer.name, now, timezone)
