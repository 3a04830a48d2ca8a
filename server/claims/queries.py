"""Reads for HQ's claim pages: search every claim, and a claim's neighbours in the queue."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

import msgspec
from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.claims.models import Claim, ClaimStatus

_REASON_CODE = re.compile(r"^[a-z_]{1,40}$")


class ClaimSearch(msgspec.Struct, frozen=True, kw_only=True):
    """What to look for; every filter is optional (no status: claims in any status)."""

    status: ClaimStatus | None = ClaimStatus.REVIEW
    promotion_id: uuid.UUID | None = None
    dealer_id: uuid.UUID | None = None
    rep_id: uuid.UUID | None = None
    reason: str | None = None
    claim_id: uuid.UUID | None = None


async def search_claims(session: AsyncSession, search: ClaimSearch, limit: int) -> Sequence[Claim]:
    """Every claim matching all the given filters, newest first (for HQ)."""
    stmt = select(Claim).order_by(Claim.created_at.desc(), Claim.id.desc()).limit(limit)
    if search.claim_id is not None:
        stmt = stmt.where(Claim.id == search.claim_id)
    if search.status is not None:
        stmt = stmt.where(Claim.status == search.status)
    if search.promotion_id is not None:
        stmt = stmt.where(Claim.promotion_id == search.promotion_id)
    if search.dealer_id is not None:
        stmt = stmt.where(Claim.dealer_id == search.dealer_id)
    if search.rep_id is not None:
        stmt = stmt.where(Claim.rep_id == search.rep_id)
    if search.reason and _REASON_CODE.match(search.reason):
        # Reasons are a JSON list of objects; their codes are quoted words in its text.
        stmt = stmt.where(cast(Claim.reasons, String).contains(f'"{search.reason}"'))
    return (await session.execute(stmt)).scalars().all()


async def queue_neighbours(
    session: AsyncSession, claim: Claim
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The claims before and after this one in the review queue (newest first)."""
    in_review = select(Claim.id).where(Claim.status == ClaimStatus.REVIEW, Claim.id != claim.id)
    newer = or_(
        Claim.created_at > claim.created_at,
        and_(Claim.created_at == claim.created_at, Claim.id > claim.id),
    )
    older = or_(
        Claim.created_at < claim.created_at,
        and_(Claim.created_at == claim.created_at, Claim.id < claim.id),
    )
    previous = (
        await session.execute(
            in_review.where(newer).order_by(Claim.created_at.asc(), Claim.id.asc()).limit(1)
        )
    ).scalar_one_or_none()
    following = (
        await session.execute(
            in_review.where(older).order_by(Claim.created_at.desc(), Claim.id.desc()).limit(1)
        )
    ).scalar_one_or_none()
    return previous, following


async def claims_in_review(session: AsyncSession) -> int:
    """How many claims wait for HQ."""
    stmt = select(func.count()).where(Claim.status == ClaimStatus.REVIEW)
    return int((await session.execute(stmt)).scalar_one())
