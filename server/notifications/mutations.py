"""The offline ``inbox.read`` mutation: a device marks inbox items read while offline."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from server.notifications.inbox import mark_read
from sync import Applied, MutationContext, MutationRegistry, Outcome, Rejected, SyncPrincipal


class ReadArgs(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=200)]


async def _read(
    session: AsyncSession, who: SyncPrincipal, args: ReadArgs, ctx: MutationContext
) -> Outcome:
    if who.dealer_id is None:
        return Rejected(reason="forbidden")
    items = await mark_read(session, uuid.UUID(who.dealer_id), uuid.UUID(who.subject_id), args.ids)
    return Applied(detail={"read": sorted(str(i.id) for i in items)})


def register_inbox_mutations(registry: MutationRegistry) -> None:
    """Register ``inbox.read`` (ids of another dealer's items are ignored)."""
    registry.register("inbox.read", ReadArgs, _read)
