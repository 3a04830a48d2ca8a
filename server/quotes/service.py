"""Quotes: created from a cart with a pinned price snapshot, approved by HQ above thresholds.

States::

    draft ──request approval──> pending_approval ──approve──> approved ──accept──> converted
      │                                  └──────reject──> rejected
      └──accept (no approval needed)──────────────────────────────────────────> converted
    draft / pending_approval / approved ──valid_until passed──> expired

The discount the thresholds apply to is the *extra* discount the dealer asks for below the
policy price (price lists, breaks and promotions are already approved policy): per line,
``(policy_amount - amount) / policy_amount``, and the same over the whole quote. Each tier
has its own thresholds (``quote_approval_thresholds``; defaults below when HQ set none).
Every decision is a ``quote_decisions`` row and an audit event.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.approvals import DecisionIn
from server.audit import record
from server.catalog import read_revision
from server.db.dialect import upsert
from server.db.repository import flush_or_conflict, get_or_404, keyset_page
from server.dealers import get_tier, tier_codes
from server.errors import Conflict, Invalid, NotFound
from server.identity.principal import Principal
from server.messages import percent, render
from server.pricelists import (
    PricingCache,
    SkuRule,
    load_dealer_facts,
    price_for_dealer,
    priced_cart_out,
)
from server.pricing import CartLine, PricedCart
from server.quotes.chains import start_discount_chain, vote_on_quote
from server.quotes.decisions import note_quote_decision
from server.quotes.models import Quote, QuoteDecision, QuoteLine, QuoteStatus, QuoteThreshold
from server.quotes.schemas import (
    DecisionOut,
    QuoteCreate,
    QuoteLineOut,
    QuoteOut,
    ThresholdIn,
    ThresholdOut,
)
from server.schemas import reason_text

DEFAULT_LINE_DISCOUNT_BP = 1000
DEFAULT_QUOTE_DISCOUNT_BP = 500
_OPEN = frozenset({QuoteStatus.DRAFT, QuoteStatus.PENDING_APPROVAL, QuoteStatus.APPROVED})


def discount_bp(policy: int, amount: int) -> int:
    """Extra discount in basis points of the policy amount, rounded up (never understated)."""
    if policy <= 0 or amount >= policy:
        return 0
    return -((amount - policy) * 10_000 // policy)


def shown_status(quote: Quote, now: datetime) -> QuoteStatus:
    """The status as of ``now``: an open quote past ``valid_until`` is expired."""
    if quote.status in _OPEN and now >= quote.valid_until:
        return QuoteStatus.EXPIRED
    return quote.status


def approval_reasons(quote: Quote) -> list[tuple[str, dict[str, object]]]:
    """Why the quote needs approval: (code, parameters a person reads) per reason."""
    out: list[tuple[str, dict[str, object]]] = []
    for item in quote.approval_reasons or []:
        if not isinstance(item, dict):
            continue  # written before reasons had codes: nothing a person can read
        params: dict[str, Any] = dict(item)  # pyright: ignore[reportUnknownArgumentType]
        params["discount"] = percent(int(params.get("discountBp", 0)))
        params["limit"] = percent(int(params.get("limitBp", 0)))
        out.append((str(params.pop("code", "")), params))
    return out


def quote_out(quote: Quote, now: datetime, *, with_snapshot: bool = False) -> QuoteOut:
    return QuoteOut(
        id=quote.id,
        dealer_id=quote.dealer_id,
        status=shown_status(quote, now),
        currency=quote.currency,
        valid_until=quote.valid_until,
        list_amount=quote.list_amount,
        policy_amount=quote.policy_amount,
        amount=quote.amount,
        extra_discount_bp=quote.extra_discount_bp,
        needs_approval=quote.needs_approval,
        approval_reasons=[code for code, _ in approval_reasons(quote)],
        approval_notes=[reason_text(c, f"quote.{c}", p) for c, p in approval_reasons(quote)],
        basis_fingerprint=quote.basis_fingerprint,
        note=quote.note,
        created_at=quote.created_at,
        lines=[
            QuoteLineOut(
                line=ln.line,
                sku=ln.sku_code,
                sku_name=ln.sku_name,
                qty=ln.qty,
                gift=ln.gift,
                list_unit_price=ln.list_unit_price,
                list_amount=ln.list_amount,
                policy_amount=ln.policy_amount,
                requested_unit_price=ln.requested_unit_price,
                amount=ln.amount,
                extra_discount_bp=ln.extra_discount_bp,
            )
            for ln in quote.lines
        ],
        decisions=[
            DecisionOut(
                action=d.action,
                actor_id=d.actor_id,
                actor_role=d.actor_role,
                comment=d.comment,
                at=d.at,
            )
            for d in quote.decisions
        ],
        snapshot=quote.snapshot if with_snapshot else None,
    )


async def thresholds_for(session: AsyncSession, tier: str) -> tuple[int, int]:
    row = await session.get(QuoteThreshold, tier)
    if row is None:
        return DEFAULT_LINE_DISCOUNT_BP, DEFAULT_QUOTE_DISCOUNT_BP
    return row.line_discount_bp, row.quote_discount_bp


async def create_quote(
    session: AsyncSession,
    cache: PricingCache,
    actor: Principal,
    *,
    currency: str,
    now: datetime,
    body: QuoteCreate,
    default_valid_days: int,
) -> Quote:
    """Price the cart, pin the snapshot, apply requested prices and decide if HQ must approve.

    Why long: the quote row takes fifteen named fields from the priced cart; the logic is the
    dozen lines before it (the lines themselves are ``_quote_lines``).
    """
    dealer_id = actor.dealer_id
    assert dealer_id is not None
    if body.id is not None:
        existing = (
            await session.execute(select(Quote).where(Quote.id == body.id))
        ).scalar_one_or_none()
        if existing is not None:
            return existing  # a retry of the same create: the same quote
    cart = [CartLine(sku=ln.sku, qty=ln.qty) for ln in body.lines]
    priced, rules = await price_for_dealer(
        session, cache, dealer_id, currency=currency, now=now, lines=cart
    )
    facts = await load_dealer_facts(session, cache, await read_revision(session), dealer_id)
    line_limit, quote_limit = await thresholds_for(session, facts.tier)
    lines, reasons, errors = _quote_lines(priced, rules, body, line_limit)
    if errors:
        raise Invalid("quote_invalid", "报价申请有误", "Invalid quote request", errors=errors)
    total = sum(ln.amount for ln in lines)
    quote_bp = discount_bp(priced.totals.payable, total)
    if quote_bp > quote_limit:
        reasons.append(
            {"code": "discount_above_limit", "discountBp": quote_bp, "limitBp": quote_limit}
        )
    quote = Quote(
        id=body.id or uuid.uuid4(),
        dealer_id=dealer_id,
        status=QuoteStatus.DRAFT,
        currency=priced.currency,
        valid_until=now + timedelta(days=body.valid_days or default_valid_days),
        list_amount=priced.totals.list_amount,
        policy_amount=priced.totals.payable,
        amount=total,
        extra_discount_bp=quote_bp,
        needs_approval=bool(reasons),
        approval_reasons=reasons,
        basis_fingerprint=priced.basis.fingerprint,
        snapshot=msgspec.to_builtins(priced_cart_out(priced)),
        note=body.note,
        created_by=actor.user_id,
        lines=lines,
        decisions=[_decision(actor, "created", "", now)],
    )
    session.add(quote)
    await flush_or_conflict(session, "quote_exists")
    record(
        session,
        actor,
        "quote.created",
        "quote",
        quote.id,
        {"amount": total, "extra_discount_bp": quote_bp, "needs_approval": bool(reasons)},
    )
    return quote


def _quote_lines(
    priced: PricedCart, rules: Mapping[str, SkuRule], body: QuoteCreate, line_limit: int
) -> tuple[list[QuoteLine], list[dict[str, object]], list[dict[str, object]]]:
    """The quote's lines at the requested prices, the reasons HQ must approve them, and the
    lines whose request is refused (above the policy price)."""
    errors: list[dict[str, object]] = []
    lines: list[QuoteLine] = []
    reasons: list[dict[str, object]] = []
    for pl in priced.lines:
        requested = None if pl.gift else body.lines[pl.line].requested_unit_price
        amount = pl.amount
        if requested is not None:
            amount = requested * pl.qty
            if amount > pl.amount:
                errors.append(
                    {
                        "line": pl.line,
                        "sku": pl.sku,
                        "code": "requested_price_above_policy",
                        "message": f"申请单价高于政策价（政策金额 {pl.amount} 分）",
                        "message_en": (
                            f"The requested unit price is above the policy price (policy amount {pl.amount} fen)"
                        ),
                    }
                )
                continue
        bp = discount_bp(pl.amount, amount)
        if bp > line_limit:
            reasons.append(
                {
                    "code": "line_discount_above_limit",
                    "line": pl.line + 1,
                    "sku": pl.sku,
                    "discountBp": bp,
                    "limitBp": line_limit,
                }
            )
        rule = rules.get(pl.sku)
        lines.append(
            QuoteLine(
                line=pl.line,
                sku_code=pl.sku,
                sku_name=rule.name if rule else "",
                qty=pl.qty,
                gift=pl.gift,
                list_unit_price=pl.list_unit_price,
                list_amount=pl.list_amount,
                policy_amount=pl.amount,
                requested_unit_price=requested,
                amount=amount,
                extra_discount_bp=bp,
            )
        )
    return lines, reasons, errors


def _decision(actor: Principal, action: str, comment: str, now: datetime) -> QuoteDecision:
    return QuoteDecision(
        id=uuid.uuid4(),
        action=action,
        actor_id=actor.user_id,
        actor_role=str(actor.role),
        comment=comment,
        at=now,
    )


async def _open_quote(session: AsyncSession, quote_id: uuid.UUID, now: datetime) -> Quote:
    """The quote, locked; an open quote past its validity is marked expired (and kept so)."""
    stmt = select(Quote).where(Quote.id == quote_id).with_for_update()
    quote = (await session.execute(stmt)).scalar_one_or_none()
    if quote is None:
        quote = await get_or_404(session, Quote, quote_id, "quote")
    if shown_status(quote, now) is QuoteStatus.EXPIRED and quote.status is not QuoteStatus.EXPIRED:
        quote.status = QuoteStatus.EXPIRED
        quote.decisions.append(QuoteDecision(id=uuid.uuid4(), action="expired", at=now))
        raise Conflict(
            "quote_expired", "报价已过期，请重新报价", "The quote has expired", keep_changes=True
        )
    return quote


def _require(quote: Quote, allowed: set[QuoteStatus], action: str) -> None:
    if quote.status is QuoteStatus.EXPIRED:
        raise Conflict("quote_expired", "报价已过期，请重新报价", "The quote has expired")
    if quote.status not in allowed:
        words = {
            "state_zh": render(f"quote.status.{quote.status}", "zh"),
            "state_en": render(f"quote.status.{quote.status}", "en"),
            "action_zh": render(f"quote.action.{action}", "zh"),
            "action_en": render(f"quote.action.{action}", "en"),
        }
        raise Conflict(
            "quote_state",
            render("quote.state_refuses", "zh", **words),
            render("quote.state_refuses", "en", **words),
            state=str(quote.status),
        )


async def request_approval(
    session: AsyncSession, actor: Principal, quote_id: uuid.UUID, now: datetime, comment: str
) -> Quote:
    quote = await _open_quote(session, quote_id, now)
    _require(quote, {QuoteStatus.DRAFT}, "submitted")
    if not quote.needs_approval:
        raise Conflict(
            "approval_not_required",
            "该报价在权限内，无需审批，可直接确认",
            "Within the thresholds: accept it directly",
        )
    quote.status = QuoteStatus.PENDING_APPROVAL
    quote.decisions.append(_decision(actor, "submitted", comment, now))
    record(session, actor, "quote.submitted", "quote", quote.id, {"comment": comment})
    await session.flush()
    await start_discount_chain(session, quote, [code for code, _ in approval_reasons(quote)], now)
    return quote


async def decide(
    session: AsyncSession,
    actor: Principal,
    quote_id: uuid.UUID,
    now: datetime,
    *,
    approve: bool,
    comment: str,
    seen: DecisionIn | None = None,
) -> Quote:
    """HQ approves or rejects a pending quote, with a comment; audited. With a pending
    approval chain the decision is a vote on its current step; the last one decides."""
    quote = await _open_quote(session, quote_id, now)
    _require(quote, {QuoteStatus.PENDING_APPROVAL}, "approved" if approve else "rejected")
    body = seen or DecisionIn(comment=comment)
    if not await vote_on_quote(session, actor, quote, approve, body, now):
        quote.decisions.append(_decision(actor, "step_approved", comment, now))
        return quote  # the next step decides
    if not approve and not comment.strip():
        raise Invalid(
            "comment_required",
            "驳回时须填写意见",
            "A rejection needs a comment",
            errors=[
                {"key": "comment", "message": "请填写驳回意见", "message_en": "Required to reject"}
            ],
        )
    quote.status = QuoteStatus.APPROVED if approve else QuoteStatus.REJECTED
    action = "approved" if approve else "rejected"
    quote.decisions.append(_decision(actor, action, comment, now))
    record(
        session,
        actor,
        f"quote.{action}",
        "quote",
        quote.id,
        {"comment": comment, "amount": quote.amount, "dealer_id": str(quote.dealer_id)},
    )
    note_quote_decision(session, actor, quote, action, comment)
    return quote


async def decide_quote_by_chain(
    session: AsyncSession,
    actor: Principal,
    document_id: str,
    approve: bool,
    body: DecisionIn,
    now: datetime,
) -> None:
    """A vote on a quote's discount chain from ``/hq/approvals`` (the last one decides it)."""
    try:
        quote_id = uuid.UUID(document_id)
    except ValueError as exc:
        raise NotFound("quote_not_found") from exc
    await decide(session, actor, quote_id, now, approve=approve, comment=body.comment, seen=body)


async def accept(
    session: AsyncSession, actor: Principal, quote_id: uuid.UUID, now: datetime
) -> Quote:
    """The dealer accepts: approved quotes, or drafts within the thresholds, are converted."""
    quote = await _open_quote(session, quote_id, now)
    if quote.status is QuoteStatus.DRAFT and quote.needs_approval:
        raise Conflict(
            "approval_required",
            "该报价超出权限，须先提交总部审批",
            "The quote needs HQ approval first",
            reasons=[code for code, _ in approval_reasons(quote)],
        )
    _require(quote, {QuoteStatus.DRAFT, QuoteStatus.APPROVED}, "accepted")
    quote.status = QuoteStatus.CONVERTED
    quote.decisions.append(_decision(actor, "accepted", "", now))
    record(session, actor, "quote.accepted", "quote", quote.id, {"amount": quote.amount})
    note_quote_decision(session, actor, quote, "accepted")
    return quote


async def get_quote(session: AsyncSession, quote_id: uuid.UUID) -> Quote:
    """The quote (dealer scoping applies: another dealer's quote is 404)."""
    return await get_or_404(session, Quote, quote_id, "quote")


async def list_quotes(
    session: AsyncSession, status: QuoteStatus | None, cursor: str | None, limit: int
) -> tuple[Sequence[Quote], str | None]:
    stmt = select(Quote)
    if status is not None:
        stmt = stmt.where(Quote.status == status)
    return await keyset_page(session, stmt, Quote.id, cursor, limit)


async def list_thresholds(session: AsyncSession) -> list[ThresholdOut]:
    tiers = await tier_codes(session)
    out: list[ThresholdOut] = []
    for tier in tiers:
        line, whole = await thresholds_for(session, tier)
        out.append(ThresholdOut(tier_code=tier, line_discount_bp=line, quote_discount_bp=whole))
    return out


async def set_threshold(
    session: AsyncSession, actor: Principal, tier: str, body: ThresholdIn
) -> ThresholdOut:
    await get_tier(session, tier)
    values = {
        "tier_code": tier,
        "line_discount_bp": body.line_discount_bp,
        "quote_discount_bp": body.quote_discount_bp,
    }
    await session.execute(upsert(session, QuoteThreshold, values))
    record(
        session,
        actor,
        "quote_threshold.set",
        "tier",
        tier,
        {"line_discount_bp": body.line_discount_bp, "quote_discount_bp": body.quote_discount_bp},
    )
    return ThresholdOut(
        tier_code=tier,
        line_discount_bp=body.line_discount_bp,
        quote_discount_bp=body.quote_discount_bp,
    )


async def convert_for_order(
    session: AsyncSession, actor: Principal, quote_id: uuid.UUID, now: datetime
) -> Quote:
    """The quote an order is placed from: accepted (or acceptable) and not expired; converted.

    An accepted quote's prices are honoured until ``valid_until``; after that it is 409
    ``quote_expired``.
    """
    quote = await _open_quote(session, quote_id, now)
    if quote.status is QuoteStatus.CONVERTED:
        if now >= quote.valid_until:
            raise Conflict("quote_expired", "报价已过期，请重新报价", "The quote has expired")
        return quote
    return await accept(session, actor, quote_id, now)
