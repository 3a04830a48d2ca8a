"""What every page's template receives: the language, ``t()``, the user and the nav."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from litestar import Request
from litestar.response import Template

from console.i18n import LANG_COOKIE, pick_lang, translator
from console.session import is_admin, session_data
from server.errors import Invalid
from server.identity.principal import Principal

NAV = (
    ("overview", "/console/"),
    ("claims", "/console/claims"),
    ("orders", "/console/orders"),
    ("approvals", "/console/approvals"),
    ("delivery", "/console/delivery"),
    ("price_lists", "/console/price-lists"),
    ("promotions", "/console/promotions"),
    ("announcements", "/console/announcements"),
    ("dealers", "/console/dealers"),
    ("invoices", "/console/invoices"),
    ("webhooks", "/console/webhooks"),
    ("audit", "/console/audit"),
)


def page_context(request: Request[Any, Any, Any], **context: Any) -> dict[str, Any]:
    lang = pick_lang(request.cookies.get(LANG_COOKIE))
    user = request.scope.get("user")
    data = session_data(request.scope)
    return {
        "lang": lang,
        "t": translator(lang),
        "user": user if isinstance(user, Principal) else None,
        "user_name": data.get("name", ""),
        "is_admin": is_admin(request),
        "nav": NAV,
        "path": request.url.path,
        **context,
    }


def page(
    request: Request[Any, Any, Any], template: str, *, status_code: int = 200, **context: Any
) -> Template:
    """Render ``template`` with the common context."""
    return Template(
        template_name=template,
        context=page_context(request, **context),
        status_code=status_code,
        media_type="text/html",
    )


def yuan(fen: int | None) -> str:
    """Fen shown as yuan with two decimals (¥1,234.50)."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def parse_yuan(amount: str) -> int | None:
    """Yuan typed in a form (``12.5``, ``¥1,200``) as fen; empty is None; bad input is 422."""
    if not amount.strip():
        return None
    try:
        value = Decimal(amount.strip().replace(",", "").lstrip("¥"))
    except InvalidOperation:
        value = Decimal(0)
    if not value.is_finite():
        value = Decimal(0)
    fen = int((value * 100).to_integral_value())
    if value <= 0 or fen > 10**12 or value != Decimal(fen) / 100:
        raise Invalid(
            "amount_invalid",
            "金额格式不正确（元，最多两位小数）",
            "Amount must be yuan with at most two decimals",
        )
    return fen
