"""Promotions: the list with budget use, a form that creates 满减 / 买赠 / rebate promotions,
one promotion with its pilot (who is in the test and control groups, test vs control over
time as a chart drawn on the server)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.params import QueryCode
from console.render import page, parse_yuan
from console.session import requires_console
from server.dealers.service import dealer_labels, list_tiers
from server.errors import Invalid
from server.identity.principal import Principal
from server.promotions import SUMMARY_SECONDS, PromotionStatus, pilot_summary
from server.promotions.budgets import budget_status
from server.promotions.schemas import BudgetStatusOut, PilotPointOut, PromotionIn
from server.promotions.service import (
    archive_promotion,
    create_promotion,
    get_promotion,
    list_promotions,
    promotion_out,
    publish_promotion,
)
from server.text import one_line

KINDS = ("tiered", "buy_get", "rebate")
"""What the form creates: 满减 (tiered amount off), 买赠 (buy-get) and rebate."""
RUNGS = 3
GROUP_SHOWN = 100
"""Dealers a pilot page names per group (the counts are whole)."""

Line = Annotated[str, one_line(64)]
Short = Annotated[str, one_line(20)]


class PromotionForm(msgspec.Struct, kw_only=True):
    kind: Short = ""
    code: Annotated[str, one_line(32)] = ""
    name: Annotated[str, one_line(128)] = ""
    starts_on: Short = ""
    ends_on: Short = ""
    skus: Annotated[str, one_line(2000)] = ""
    tier: Short = ""
    threshold_1: Short = ""
    discount_1: Short = ""
    threshold_2: Short = ""
    discount_2: Short = ""
    threshold_3: Short = ""
    discount_3: Short = ""
    buy_qty: Short = ""
    gift_sku: Line = ""
    gift_qty: Short = ""
    share_pct: Short = ""
    budget_amount: Short = ""
    dealer_budget_amount: Short = ""
    pilot_pct: Short = ""


def _invalid(field: str) -> Invalid:
    return Invalid(
        "promotion_form_invalid",
        f"促销表单填写有误：{field}",
        f"Check the promotion form: {field}",
    )


def _whole(text: str, field: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise _invalid(field) from None


def _basis_points(text: str, field: str) -> int | None:
    """A percentage typed in the form (``2.5``) as basis points (250)."""
    if not text.strip():
        return None
    try:
        value = Decimal(text.strip().rstrip("%"))
    except InvalidOperation:
        raise _invalid(field) from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise _invalid(field)
    return int(value * 100)


def _mechanic(data: PromotionForm) -> dict[str, Any]:
    """The form's fields of the chosen kind, in the API's shape (fen, basis points)."""
    if data.kind == "tiered":
        tiers = []
        for n in range(1, RUNGS + 1):
            threshold, discount = getattr(data, f"threshold_{n}"), getattr(data, f"discount_{n}")
            if threshold.strip() or discount.strip():
                tiers.append({"threshold": parse_yuan(threshold), "discount": parse_yuan(discount)})
        return {"kind": "tiered", "tiers": tiers}
    if data.kind == "buy_get":
        return {
            "kind": "buy_get",
            "buyQty": _whole(data.buy_qty, "buy_qty"),
            "giftSku": data.gift_sku.strip(),
            "giftQty": _whole(data.gift_qty, "gift_qty"),
        }
    if data.kind == "rebate":
        return {"kind": "rebate", "shareBp": _basis_points(data.share_pct, "share_pct")}
    raise _invalid("kind")


def promotion_in(data: PromotionForm) -> PromotionIn:
    """The form as the API's request body, validated by the same rules as a JSON post."""
    pilot = _basis_points(data.pilot_pct, "pilot_pct")
    body = {
        "code": data.code.strip(),
        "name": data.name.strip(),
        "mechanic": _mechanic(data),
        "eligibility": {
            "skus": [s for s in data.skus.replace("，", ",").replace(",", " ").split() if s],
            "tiers": [data.tier] if data.tier else [],
        },
        "startsOn": data.starts_on or None,
        "endsOn": data.ends_on or None,
        "budget": {
            "amount": parse_yuan(data.budget_amount),
            "dealerAmount": parse_yuan(data.dealer_budget_amount),
        },
        "pilotShareBp": pilot,
    }
    try:
        return msgspec.convert(body, PromotionIn)
    except msgspec.ValidationError as exc:
        raise Invalid(
            "promotion_form_invalid",
            f"促销表单填写有误：{exc}",
            f"Check the promotion form: {exc}",
        ) from exc


def budget_bar(status: BudgetStatusOut) -> dict[str, Any] | None:
    """The promotion's own budget as a bar: amount when capped, else the count."""
    if status.limit_amount:
        return {"used": status.used_amount, "limit": status.limit_amount, "money": True}
    if status.limit_count:
        return {"used": status.used_count, "limit": status.limit_count, "money": False}
    return None


@get("/promotions", guards=[requires_console])
async def promotions(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    status: QueryCode = "",
) -> Template:
    """Every promotion with its budget use."""
    chosen = status if status in {s.value for s in PromotionStatus} else None
    rows = await list_promotions(db_session, PromotionStatus(chosen) if chosen else None)
    bars = {p.id: budget_bar((await budget_status(db_session, p))[0]) for p in rows}
    return page(
        request,
        "promotions.html",
        promotions=[promotion_out(p) for p in rows],
        bars=bars,
        statuses=[s.value for s in PromotionStatus],
        status=chosen or "",
    )


@get("/promotions/new", guards=[requires_console])
async def new_promotion(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Template:
    """The form: each field says what it does; only the chosen kind's fields apply."""
    return page(
        request,
        "promotion_new.html",
        kinds=KINDS,
        rungs=range(1, RUNGS + 1),
        tiers=await list_tiers(db_session),
    )


@post("/promotions", guards=[requires_console])
async def create(
    state: State,
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    data: Annotated[PromotionForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    """Create the draft (the API's rules), then show it."""
    p = await create_promotion(db_session, principal, promotion_in(data), state.settings.timezone)
    return Redirect(f"/console/promotions/{p.id}?done=created", status_code=303)


def chart(points: list[PilotPointOut]) -> dict[str, Any]:
    """Test vs control orders per dealer as polylines in a 640×240 box (presentation only)."""
    width, height, left, right, top, bottom = 640, 240, 48, 16, 16, 36
    top_value = max(
        [0.0] + [max(p.test_orders_per_dealer, p.control_orders_per_dealer) for p in points]
    )
    top_value = top_value or 1.0
    span = max(len(points) - 1, 1)

    def x(i: int) -> float:
        return round(left + (width - left - right) * i / span, 1)

    def y(value: float) -> float:
        return round(height - bottom - (height - top - bottom) * value / top_value, 1)

    series = []
    for name, attribute in (
        ("test", "test_orders_per_dealer"),
        ("control", "control_orders_per_dealer"),
    ):
        marks = [
            {"x": x(i), "y": y(getattr(p, attribute)), "value": getattr(p, attribute), "point": p}
            for i, p in enumerate(points)
        ]
        series.append(
            {
                "name": name,
                "points": " ".join(f"{m['x']},{m['y']}" for m in marks),
                "marks": marks,
            }
        )
    ticks = [{"y": y(top_value * k / 4), "value": round(top_value * k / 4, 2)} for k in range(5)]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "base": height - bottom,
        "series": series,
        "ticks": ticks,
        "labels": [{"x": x(i), "point": p} for i, p in enumerate(points)],
    }


@get("/promotions/{promotion_id:uuid}", guards=[requires_console])
async def promotion_page(
    request: Request[Any, Any, Any],
    state: State,
    db_session: NamedDependency[AsyncSession],
    promotion_id: FromPath[uuid.UUID],
    done: QueryCode = "",
) -> Template:
    """One promotion: its definition, budget use and, for a pilot, its groups and report."""
    p = await get_promotion(db_session, promotion_id)
    budgets = await budget_status(db_session, p)
    context: dict[str, Any] = {"pilot": None}
    if p.pilot_share_bp is not None:
        summary = await pilot_summary(
            db_session, p, state.order_activity, datetime.now().astimezone()
        )
        # A group may hold thousands of dealers: the page names the first ones of each.
        shown = {"test": summary.test[:GROUP_SHOWN], "control": summary.control[:GROUP_SHOWN]}
        context["pilot"] = {
            "report": summary.report,
            "groups": [(g, shown[g], len(getattr(summary, g))) for g in ("test", "control")],
            "dealers": await dealer_labels(db_session, shown["test"] + shown["control"]),
            "points": summary.points,
            "chart": chart(summary.points),
            "computed_at": summary.computed_at,
            "refresh_minutes": SUMMARY_SECONDS // 60,
        }
    return page(
        request,
        "promotion.html",
        promotion=promotion_out(p),
        bar=budget_bar(budgets[0]),
        dealer_budgets=budgets[1:],
        dealer_names=await dealer_labels(db_session, (b.dealer_id for b in budgets if b.dealer_id)),
        done=done,
        **context,
    )


@post("/promotions/{promotion_id:uuid}/publish", guards=[requires_console])
async def publish(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    promotion_id: FromPath[uuid.UUID],
) -> Redirect:
    """Make the draft live: priced, claimable, and sent to its channel nodes."""
    await publish_promotion(db_session, principal, promotion_id)
    return Redirect(f"/console/promotions/{promotion_id}?done=published", status_code=303)


@post("/promotions/{promotion_id:uuid}/archive", guards=[requires_console])
async def archive(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    promotion_id: FromPath[uuid.UUID],
) -> Redirect:
    """Take the promotion off: no longer priced or claimable; nodes receive a delete."""
    await archive_promotion(db_session, principal, promotion_id)
    return Redirect(f"/console/promotions/{promotion_id}?done=archived", status_code=303)


HANDLERS = (promotions, new_promotion, create, promotion_page, publish, archive)
