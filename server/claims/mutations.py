"""Offline claim mutations: ``claim.create``, ``claim.attach_receipt``, ``claim.submit``.

A rep or dealer works offline, queues these, and pushes them when a connection returns.
Business refusals become ``Rejected`` with the error's machine code (never blocking the
queue); the claim's state reaches the device through the ``dealer:``/``rep:`` scopes.
"""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from server.claims import service
from server.claims.schemas import ClaimCreate, Comment
from server.errors import ChannelhubError
from server.identity import Role
from server.identity.principal import Principal, dealer_principal
from server.storage import ObjectStorage
from sync import Applied, MutationContext, MutationRegistry, Outcome, Rejected, SyncPrincipal


class CreateClaimArgs(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    id: uuid.UUID
    promotion_id: uuid.UUID
    dealer_id: uuid.UUID | None = None
    note: Comment = ""


class AttachReceiptArgs(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """A receipt already uploaded with its presigned form; ``submit`` also submits the claim."""

    claim_id: uuid.UUID
    receipt_id: uuid.UUID
    submit: bool = False


class SubmitClaimArgs(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    claim_id: uuid.UUID


def principal_of(sync_principal: SyncPrincipal) -> Principal | None:
    """The API principal behind a sync caller (dealer user or rep), else None."""
    user_id = uuid.UUID(sync_principal.subject_id)
    if f"rep:{user_id}" in sync_principal.scopes:
        return Principal(user_id=user_id, role=Role.REP)
    who = sync_principal
    return dealer_principal(who.subject_id, who.dealer_id, who.role)


def _rejected(exc: ChannelhubError) -> Rejected:
    return Rejected(reason=exc.code, detail={"message": exc.en, "messageZh": exc.zh})


def register_claim_mutations(registry: MutationRegistry, storage: ObjectStorage) -> None:
    """Register the claim mutations (the storage is where presigned uploads land)."""

    async def create(
        session: AsyncSession, who: SyncPrincipal, args: CreateClaimArgs, ctx: MutationContext
    ) -> Outcome:
        actor = principal_of(who)
        if actor is None:
            return Rejected(reason="forbidden")
        body = ClaimCreate(
            id=args.id, promotion_id=args.promotion_id, dealer_id=args.dealer_id, note=args.note
        )
        try:
            claim, created = await service.create_claim(session, actor, body, ctx.now)
        except ChannelhubError as exc:
            return _rejected(exc)
        return Applied(detail={"claimId": str(claim.id), "created": created})

    async def attach(
        session: AsyncSession, who: SyncPrincipal, args: AttachReceiptArgs, ctx: MutationContext
    ) -> Outcome:
        actor = principal_of(who)
        if actor is None:
            return Rejected(reason="forbidden")
        try:
            await service.attach_receipt(session, storage, actor, args.claim_id, args.receipt_id)
            if args.submit:
                await service.submit_claim(session, actor, args.claim_id)
        except ChannelhubError as exc:
            return _rejected(exc)
        return Applied(detail={"claimId": str(args.claim_id), "receiptId": str(args.receipt_id)})

    async def submit(
        session: AsyncSession, who: SyncPrincipal, args: SubmitClaimArgs, ctx: MutationContext
    ) -> Outcome:
        actor = principal_of(who)
        if actor is None:
            return Rejected(reason="forbidden")
        try:
            claim = await service.submit_claim(session, actor, args.claim_id)
        except ChannelhubError as exc:
            return _rejected(exc)
        return Applied(detail={"claimId": str(claim.id), "status": str(claim.status)})

    registry.register("claim.create", CreateClaimArgs, create)
    registry.register("claim.attach_receipt", AttachReceiptArgs, attach)
    registry.register("claim.submit", SubmitClaimArgs, submit)
