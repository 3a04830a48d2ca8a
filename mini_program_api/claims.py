"""Claims for dealers and reps: claimable promotions, create, upload receipts, submit, status."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Response, delete, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi import ResponseSpec
from litestar.params import Body, FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.apidocs.bodies import RECEIPT_UPLOAD
from server.claims import ClaimStatus, service
from server.claims.schemas import (
    ClaimCreate,
    ClaimOut,
    ReceiptOut,
    ReceiptPresignIn,
    ReceiptPresignOut,
)
from server.db.base import utcnow
from server.dealers import dealer_pricing_facts
from server.errors import Invalid
from server.identity.guards import requires_field
from server.identity.principal import Principal
from server.promotions import claimable_promotions, promotion_out
from server.promotions.schemas import PromotionOut

UPLOAD_LIMIT = 12 * 1024 * 1024


class ClaimablePromotionController(Controller):
    path = "/mp/promotions"
    tags = ("mini-program: claims",)
    guards = (requires_field,)

    @get("/claimable", summary="Promotions I can claim")
    async def claimable(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        dealer_id: Annotated[uuid.UUID | None, QueryParameter(name="dealerId")] = None,
    ) -> list[PromotionOut]:
        """Display-fee and sell-out promotions open now for my dealer (reps name the dealer)."""
        target = principal.dealer_id if principal.dealer_id is not None else dealer_id
        if target is None:
            raise Invalid("dealer_required", "请选择经销商", "Name the dealer (dealerId)")
        facts = await dealer_pricing_facts(db_session, target)
        rows = await claimable_promotions(db_session, facts, utcnow())
        return [promotion_out(p) for p in rows]


class ClaimController(Controller):
    path = "/mp/claims"
    tags = ("mini-program: claims",)
    guards = (requires_field,)

    @post(
        "/",
        summary="Create a claim",
        responses={200: ResponseSpec(ClaimOut, description="A retry: the same claim")},
        opt={"problems": (404, 409)},
    )
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[ClaimCreate],
    ) -> Response[ClaimOut]:
        """Open a claim with a client-generated id (201; a retry answers 200 with the same claim)."""
        claim, created = await service.create_claim(db_session, principal, data, utcnow())
        return Response(service.claim_out(claim), status_code=201 if created else 200)

    @get("/", summary="My claims")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        status: FromQuery[ClaimStatus | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> list[ClaimOut]:
        """My claims (a rep's: those the rep made), newest first."""
        rows = await service.list_claims(db_session, principal, status, limit)
        return [service.claim_out(c) for c in rows]

    @get("/{claim_id:uuid}", summary="Claim status and history")
    async def detail(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        claim_id: FromPath[uuid.UUID],
    ) -> ClaimOut:
        """One of my claims with its receipts, the checks' reasons and its history."""
        return await service.claim_detail(db_session, principal, claim_id, state.storage)

    @post(
        "/{claim_id:uuid}/receipts/presign",
        summary="Presigned upload form for a receipt",
        status_code=200,
    )
    async def presign(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        claim_id: FromPath[uuid.UUID],
        data: JSONBody[ReceiptPresignIn],
    ) -> ReceiptPresignOut:
        """A form for ``wx.uploadFile`` to post the image to storage; then confirm it."""
        return await service.presign_receipt(db_session, state.storage, principal, claim_id, data)

    @post(
        "/{claim_id:uuid}/receipts/{receipt_id:uuid}/confirm",
        summary="Confirm an uploaded receipt",
        status_code=200,
        opt={"problems": (422,)},
    )
    async def confirm(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        claim_id: FromPath[uuid.UUID],
        receipt_id: FromPath[uuid.UUID],
    ) -> ReceiptOut:
        """Attach the image uploaded with the presigned form (checked to be an image)."""
        receipt = await service.attach_receipt(
            db_session, state.storage, principal, claim_id, receipt_id
        )
        return service.receipt_out(receipt, None)

    @post(
        "/{claim_id:uuid}/receipts",
        summary="Upload a receipt image",
        status_code=200,
        request_max_body_size=UPLOAD_LIMIT,
        operation_class=RECEIPT_UPLOAD,
    )
    async def upload(
        self,
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        claim_id: FromPath[uuid.UUID],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ReceiptOut:
        """Multipart upload (``file`` and an optional client ``receiptId``) of one image."""
        upload = data.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid("upload_file_missing", "缺少上传文件", "The form has no file field")
        try:
            receipt_id = uuid.UUID(str(data.get("receiptId") or uuid.uuid4()))
        except ValueError as exc:
            raise Invalid("receipt_id_invalid", "图片编号无效", "Invalid receiptId") from exc
        content = await upload.read(state.settings.storage.max_upload_bytes + 1)
        if len(content) > state.settings.storage.max_upload_bytes:
            raise Invalid("upload_too_large", "图片过大", "The image is too large")
        receipt = await service.attach_receipt(
            db_session, state.storage, principal, claim_id, receipt_id, content
        )
        return service.receipt_out(receipt, None)

    @post("/{claim_id:uuid}/submit", summary="Submit a claim", status_code=200)
    async def submit(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        claim_id: FromPath[uuid.UUID],
    ) -> ClaimOut:
        """Send the claim to be read and checked; its decision arrives by sync and here."""
        return service.claim_out(await service.submit_claim(db_session, principal, claim_id))

    @delete("/{claim_id:uuid}", summary="Withdraw a claim", status_code=200)
    async def cancel(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        claim_id: FromPath[uuid.UUID],
    ) -> ClaimOut:
        """Withdraw a claim that is still open or in review."""
        return service.claim_out(await service.cancel_claim(db_session, principal, claim_id))
