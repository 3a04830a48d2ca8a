"""The offline mutation ``announcement.read``: a dealer read an announcement while offline.

Refusals (not for this dealer, expired) become ``Rejected`` with the error's code; a repeat
is applied again and answers the first read.
"""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from server.announcements.reads import mark_read
from server.errors import ChannelhubError
from server.identity.principal import dealer_principal
from sync import Applied, MutationContext, MutationRegistry, Outcome, Rejected, SyncPrincipal


class ReadArgs(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    announcement_id: uuid.UUID


def register_announcement_mutations(registry: MutationRegistry) -> None:
    """Register ``announcement.read``."""

    async def read(
        session: AsyncSession, who: SyncPrincipal, args: ReadArgs, ctx: MutationContext
    ) -> Outcome:
        actor = dealer_principal(who.subject_id, who.dealer_id, who.role)
        if actor is None:
            return Rejected(reason="forbidden")
        try:
            out = await mark_read(session, actor, args.announcement_id, ctx.now)
        except ChannelhubError as exc:
            return Rejected(reason=exc.code, detail={"message": exc.en, "messageZh": exc.zh})
        return Applied(detail=msgspec.to_builtins(out))

    registry.register("announcement.read", ReadArgs, read)
