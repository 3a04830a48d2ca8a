"""The offline return mutation: ``return.create`` (business key: the return's id).

A dealer uploads the photos with their presigned forms while online (or when the connection
returns), then pushes ``return.create`` naming them. The sync engine stores each business
key's outcome, so a repeated key answers the stored result; business refusals are
``Rejected`` with the error's code and both messages, never blocking the queue.
"""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import ChannelhubError
from server.orders.mutations import actor_of, rejection
from server.returns.presenter import return_out
from server.returns.requests import create_return
from server.returns.schemas import ReturnCreate
from server.storage import ObjectStorage
from sync import Applied, MutationContext, MutationRegistry, Outcome, Rejected, SyncPrincipal


def register_return_mutations(registry: MutationRegistry, storage: ObjectStorage) -> None:
    """Register ``return.create`` (the storage is where the photos were uploaded)."""

    async def create(
        session: AsyncSession, principal: SyncPrincipal, args: ReturnCreate, ctx: MutationContext
    ) -> Outcome:
        if ctx.business_key is not None and ctx.business_key != str(args.id):
            return Rejected(reason="business_key_mismatch", detail={"expected": str(args.id)})
        try:
            ret, _ = await create_return(session, storage, actor_of(principal), args, ctx.now)
        except ChannelhubError as exc:
            return rejection(exc)
        return Applied(detail=msgspec.to_builtins(return_out(ret)))

    registry.register("return.create", ReturnCreate, create)
