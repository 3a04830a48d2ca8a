"""A dealer requests a return (HTTP ``POST /mp/returns`` and the sync mutation ``return.create``).

Invariant: for every order line, the quantities of its returns that are not rejected never
exceed what it shipped. Every request first locks the order's row (``returnable_order``),
then reads what is already returned, so concurrent requests of one order queue there and
each sees the others' lines. The client's ``id`` is the business key: a repeat with the same
content answers the stored return; other content under that id is 409 ``return_id_reused``.

Everything is checked before anything is written (lines, quantities, window, photos), so a
refused request leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import flush_or_conflict
from server.errors import Conflict, Forbidden, Invalid
from server.identity.principal import Principal
from server.orders.returnable import ReturnableLine, ReturnableOrder, returnable_order
from server.returns.chains import start_return_chain
from server.returns.decisions import decision_state
from server.returns.models import ReturnLine, ReturnPhoto, ReturnRequest, ReturnStatus
from server.returns.photos import checked_photos
from server.returns.publication import publish_return
from server.returns.queries import window_days
from server.returns.schemas import ReturnCreate, ReturnLineIn
from server.storage import ObjectStorage


def content_hash(body: ReturnCreate) -> str:
    """What makes a retry the same return: order, lines, reason, note, photos."""
    canonical: dict[str, object] = {
        "order": str(body.order_id),
        "lines": sorted((x.line, x.qty) for x in body.lines),
        "reason": str(body.reason),
        "note": body.note,
        "photos": sorted(str(p) for p in body.photo_ids),
    }
    if body.exchange:  # joins only when set, so a plain return hashes as before
        canonical["exchange"] = True
    return hashlib.sha256(msgspec.json.encode(canonical)).hexdigest()


async def returned_by_line(session: AsyncSession, order_id: uuid.UUID) -> dict[int, int]:
    """Order line -> quantity in the order's returns that are not rejected."""
    stmt = (
        select(ReturnLine.order_line, func.sum(ReturnLine.qty))
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(ReturnLine.order_id == order_id, ReturnRequest.status != ReturnStatus.REJECTED)
        .group_by(ReturnLine.order_line)
    )
    return {int(line): int(qty or 0) for line, qty in await session.execute(stmt)}


def _line_error(line: int, zh: str, en: str) -> dict[str, str]:
    return {"key": f"lines[{line}]", "message": zh, "message_en": en}


def _check_lines(
    order: ReturnableOrder, wanted: Sequence[ReturnLineIn], returned: dict[int, int]
) -> list[tuple[ReturnableLine, int]]:
    """The order lines and quantities to return; 422 naming every line that cannot be."""
    by_line = {ln.line: ln for ln in order.lines}
    asked: dict[int, int] = {}
    for x in wanted:
        asked[x.line] = asked.get(x.line, 0) + x.qty
    errors: list[dict[str, str]] = []
    code = "return_exceeds_shipped"
    for line, qty in sorted(asked.items()):
        ln = by_line.get(line)
        if ln is None or ln.shipped == 0:
            code = "return_not_shipped"
            errors.append(_line_error(line, "该行商品尚未发货", "Nothing of this line has shipped"))
        elif qty > ln.shipped - returned.get(line, 0):
            left = ln.shipped - returned.get(line, 0)
            errors.append(
                _line_error(line, f"最多可退 {left}", f"At most {left} can still be returned")
            )
    if errors:
        zh, en = (
            ("退货商品尚未发货", "Only goods that have shipped can be returned")
            if code == "return_not_shipped"
            else ("退货数量超过已发货未退数量", "Returning more than shipped and not yet returned")
        )
        raise Invalid(code, zh, en, errors=errors)
    return [(by_line[line], qty) for line, qty in sorted(asked.items())]


async def _check_window(session: AsyncSession, order: ReturnableOrder, now: datetime) -> None:
    days = await window_days(session)
    shipped = order.last_shipped_at
    if shipped is not None and now - shipped > timedelta(days=days):
        raise Invalid(
            "return_window_passed",
            f"已超过退货期限（发货后 {days} 天内）",
            f"The return window has passed ({days} days after shipment)",
            windowDays=days,
        )


async def _existing(
    session: AsyncSession, body: ReturnCreate, dealer_id: uuid.UUID
) -> ReturnRequest | None:
    found = await session.get(ReturnRequest, body.id, populate_existing=True)
    if found is None:
        return None
    if found.dealer_id != dealer_id or found.content_hash != content_hash(body):
        raise Conflict(
            "return_id_reused",
            "该退货单号已用于其他内容",
            "This return id was already used with other content",
        )
    return found


def _dealer_of(actor: Principal) -> uuid.UUID:
    if actor.dealer_id is None:
        raise Forbidden(
            "dealer_required", "仅经销商可申请退货", "Only a dealer can request a return"
        )
    return actor.dealer_id


async def create_return(
    session: AsyncSession,
    storage: ObjectStorage,
    actor: Principal,
    body: ReturnCreate,
    now: datetime,
) -> tuple[ReturnRequest, bool]:
    """Request a return of shipped lines; a repeat of the same id and content answers it."""
    dealer_id = _dealer_of(actor)
    order = await returnable_order(session, body.order_id, dealer_id)  # the order's lock
    existing = await _existing(session, body, dealer_id)
    if existing is not None:
        return existing, False
    lines = _check_lines(order, body.lines, await returned_by_line(session, order.id))
    await _check_window(session, order, now)
    photos = await checked_photos(storage, dealer_id, body.photo_ids)
    ret = ReturnRequest(
        id=body.id,
        dealer_id=dealer_id,
        order_id=order.id,
        status=ReturnStatus.REQUESTED,
        content_hash=content_hash(body),
        reason=str(body.reason),
        note=body.note,
        currency=order.currency,
        step=1,
        exchange=body.exchange,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        lines=[
            ReturnLine(
                line=i,
                order_id=order.id,
                order_line=ln.line,
                sku_id=ln.sku_id,
                sku_code=ln.sku_code,
                sku_name=ln.sku_name,
                qty=qty,
                refund=0,
            )
            for i, (ln, qty) in enumerate(lines)
        ],
        photos=[ReturnPhoto(id=p.photo_id, **p.columns()) for p in photos],
        decisions=[],
    )
    session.add(ret)
    await flush_or_conflict(session, "return_conflict")  # its id or a photo is taken
    value = sum(ln.amount * qty // ln.qty for ln, qty in lines if ln.qty)
    await start_return_chain(session, ret, value, decision_state(ret), now)
    await publish_return(session, ret)
    return ret, True
