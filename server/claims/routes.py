"""HQ review of claims: the queue with OCR fields and boxes, approve, reject."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.claims import service
from server.claims.models import ClaimStatus
from server.claims.schemas import ClaimOut, ReviewIn
from server.identity.guards import requires_hq
from server.identity.principal import Principal


class ClaimReviewController(Controller):
    path = "/hq/claims"
    tags = ("hq: claims",)
    guards = (requires_hq,)

    @get("/", summary="Claims review queue")
    async def queue(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        status: FromQuery[ClaimStatus | None] = ClaimStatus.REVIEW,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> list[ClaimOut]:
        """Claims in a status (default: waiting for review), with receipts, OCR fields and boxes."""
        claims = await service.list_claims(db_session, principal, status, limit)
        receipts = await service.receipts_of(db_session, [c.id for c in claims])
        return [service.claim_out(c, receipts.get(c.id, []), storage=state.storage) for c in claims]

    @get("/{claim_id:uuid}", summary="Get a claim")
    async def detail(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        claim_id: FromPath[uuid.UUID],
    ) -> ClaimOut:
        """One claim with its receipts (image links, OCR fields, boxes, checks) and history."""
        return await service.claim_detail(db_session, principal, claim_id, state.storage)

    @post(
        "/{claim_id:uuid}/approve",
        summary="Approve a claim",
        status_code=200,
        opt={"problems": (409,)},
    )
    async def approve(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        claim_id: FromPath[uuid.UUID],
        data: JSONBody[ReviewIn],
    ) -> ClaimOut:
        """Approve and pay to the dealer's rebate account once (409 when over budget)."""
        return service.claim_out(await service.approve_claim(db_session, principal, claim_id, data))

    @post("/{claim_id:uuid}/reject", summary="Reject a claim", status_code=200)
    async def reject(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        claim_id: FromPath[uuid.UUID],
        data: JSONBody[ReviewIn],
    ) -> ClaimOut:
        """Reject a claim under review with a comment."""
        return service.claim_out(await service.reject_claim(db_session, principal, claim_id, data))
