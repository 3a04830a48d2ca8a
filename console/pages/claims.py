"""Claims review: the queue and search, one claim with its receipts drawn, the decision."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.params import VERSION, QueryCode, QueryText
from console.render import page, parse_yuan
from console.session import requires_console
from server.claims import ClaimStatus
from server.claims.evidence import field_boxes
from server.claims.queries import ClaimSearch, queue_neighbours, search_claims
from server.claims.schemas import ClaimOut, ReceiptOut, ReviewIn
from server.claims.service import approve_claim, claim_detail, load_claim, reject_claim
from server.dealers.service import dealer_id_by_code, dealer_labels
from server.errors import Invalid
from server.identity.principal import Principal
from server.promotions.service import promotion_id_by_code, promotion_labels
from server.text import multi_line, one_line

REASON_CODES = (
    "duplicate_image",
    "duplicate_content",
    "duplicate_image_edited",
    "above_auto_limit",
    "low_confidence",
    "sku_missing",
    "sku_quantity_short",
    "receipt_unreadable",
    "display_needs_review",
    "budget_exhausted",
)


class DecisionForm(msgspec.Struct, kw_only=True):
    action: Annotated[str, one_line(16)] = ""
    amount: Annotated[str, one_line(20)] = ""
    comment: Annotated[str, multi_line(500)] = ""
    version: Annotated[int, VERSION] = 0


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


@get("/claims", guards=[requires_console])
async def claims_queue(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    status: QueryCode = "review",
    dealer: QueryCode = "",
    promotion: QueryCode = "",
    reason: QueryCode = "",
    q: QueryText = "",
) -> Template:
    """The review queue, or every claim matching the search."""
    chosen = status if status in {s.value for s in ClaimStatus} else None
    search = ClaimSearch(
        status=ClaimStatus(chosen) if chosen else None,
        dealer_id=(await dealer_id_by_code(db_session, dealer) or uuid.UUID(int=0))
        if dealer
        else None,
        promotion_id=(await promotion_id_by_code(db_session, promotion) or uuid.UUID(int=0))
        if promotion
        else None,
        reason=reason or None,
        claim_id=(_uuid(q) or uuid.UUID(int=0)) if q else None,
    )
    claims = await search_claims(db_session, search, limit=100)
    dealers = await dealer_labels(db_session, (c.dealer_id for c in claims))
    promotions = await promotion_labels(db_session, (c.promotion_id for c in claims))
    return page(
        request,
        "claims.html",
        claims=claims,
        dealers=dealers,
        promotions=promotions,
        statuses=[s.value for s in ClaimStatus],
        reason_codes=REASON_CODES,
        form={
            "status": chosen or "",
            "dealer": dealer,
            "promotion": promotion,
            "reason": reason,
            "q": q,
        },
    )


def receipt_view(receipt: ReceiptOut) -> dict[str, Any]:
    """A receipt as the page draws it: the boxes as polygons, the field each box was read as."""
    matches = (receipt.verification or {}).get("matches", [])
    marks = field_boxes(receipt.fields, receipt.boxes, matches)
    return {
        "receipt": receipt,
        "boxes": [
            {
                "points": " ".join(f"{x:.0f},{y:.0f}" for x, y in box.box),
                "text": box.text,
                "score": box.score,
                "field": marks.get(i, ""),
            }
            for i, box in enumerate(receipt.boxes)
        ],
        "fields": receipt.fields or {},
        "matched": [m for m in matches if m.get("sku")],
    }


async def _duplicates(
    db_session: AsyncSession, principal: Principal, claim: ClaimOut, state: State
) -> list[dict[str, Any]]:
    """Each duplicate suspect with the earlier claim's receipt, to show side by side."""
    pairs: list[dict[str, Any]] = []
    for reason in claim.reasons:
        if reason.earlier_claim_id is None:
            continue
        earlier = await claim_detail(db_session, principal, reason.earlier_claim_id, state.storage)
        mine = next((r for r in claim.receipts if r.id == reason.receipt_id), None)
        pairs.append(
            {
                "reason": reason,
                "earlier": earlier,
                "mine": receipt_view(mine) if mine else None,
                "theirs": receipt_view(earlier.receipts[0]) if earlier.receipts else None,
            }
        )
    return pairs


@get("/claims/{claim_id:uuid}", guards=[requires_console])
async def claim_page(
    request: Request[Any, Any, Any],
    state: State,
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    claim_id: FromPath[uuid.UUID],
    decided: QueryCode = "",
) -> Template:
    """One claim: receipts with OCR boxes, fields, reasons, duplicates and the decision form."""
    claim = await claim_detail(db_session, principal, claim_id, state.storage)
    previous, following = await queue_neighbours(
        db_session, await load_claim(db_session, principal, claim_id)
    )
    dealers = await dealer_labels(db_session, [claim.dealer_id])
    promotions = await promotion_labels(db_session, [claim.promotion_id])
    return page(
        request,
        "claim.html",
        claim=claim,
        receipts=[receipt_view(r) for r in claim.receipts],
        duplicates=await _duplicates(db_session, principal, claim, state),
        dealer=dealers.get(claim.dealer_id, ("", "")),
        promotion=promotions.get(claim.promotion_id, ("", "")),
        previous=previous,
        following=following,
        decided=bool(decided),
        in_review=claim.status == ClaimStatus.REVIEW,
    )


@post("/claims/{claim_id:uuid}/decide", guards=[requires_console])
async def decide_claim(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    claim_id: FromPath[uuid.UUID],
    data: Annotated[DecisionForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    """Approve (full or partial) or reject; then on to the next claim in the queue."""
    body = ReviewIn(
        comment=data.comment, amount=parse_yuan(data.amount), version=data.version or None
    )
    if data.action == "approve":
        claim = await approve_claim(db_session, principal, claim_id, body)
    elif data.action == "reject":
        claim = await reject_claim(db_session, principal, claim_id, body)
    else:
        raise Invalid("action_invalid", "未知的操作", "Unknown action")
    _, following = await queue_neighbours(db_session, claim)
    target = following or claim.id
    return Redirect(f"/console/claims/{target}?decided={claim.id}", status_code=303)


HANDLERS = (claims_queue, claim_page, decide_claim)
