"""HQ reads the approval trail: every decision, filtered, and each document's own entries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.identity.guards import requires_hq
from server.schemas import Page
from server.text import LINE_RULE
from server.trail.models import DecisionEntry
from server.trail.queries import DecisionSearch, chain_head, search_decisions
from server.trail.schemas import ChainHeadOut, DecisionOut, DocumentType

Limit = Annotated[int, QueryParameter(ge=1, le=500)]
Cursor = Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)]


def decision_out(e: DecisionEntry) -> DecisionOut:
    return DecisionOut(
        seq=e.seq,
        at=e.at,
        actor_id=e.actor_id,
        role=e.role,
        document_type=e.document_type,
        document_id=e.document_id,
        content_hash=e.content_hash,
        outcome=e.outcome,
        comment=e.comment,
        body=e.body,
        prev_hash=e.prev_hash,
        hash=e.entry_hash,
    )


def _utc(value: datetime | None) -> datetime | None:
    """A time without an offset is read as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class DecisionController(Controller):
    path = "/hq/decisions"
    tags = ("hq: approval trail",)
    guards = (requires_hq,)

    @get("/", summary="Search the approval trail", opt={"problems": (400,)})
    async def search(
        self,
        db_session: NamedDependency[AsyncSession],
        document_type: Annotated[DocumentType | None, QueryParameter(name="documentType")] = None,
        document_id: Annotated[
            str | None,
            QueryParameter(name="documentId", min_length=1, max_length=64, pattern=LINE_RULE),
        ] = None,
        actor_id: Annotated[uuid.UUID | None, QueryParameter(name="actorId")] = None,
        outcome: Annotated[
            str | None, QueryParameter(min_length=1, max_length=32, pattern=LINE_RULE)
        ] = None,
        since: Annotated[datetime | None, QueryParameter()] = None,
        until: Annotated[datetime | None, QueryParameter()] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[DecisionOut]:
        """Decisions newest first, by document (type and id), actor, outcome and time
        (``since`` inclusive, ``until`` exclusive; a time without an offset is UTC)."""
        search = DecisionSearch(
            document_type=str(document_type) if document_type else None,
            document_id=document_id,
            actor_id=actor_id,
            outcome=outcome,
            since=_utc(since),
            until=_utc(until),
        )
        rows, next_cursor = await search_decisions(db_session, search, cursor=cursor, limit=limit)
        return Page(items=[decision_out(e) for e in rows], next_cursor=next_cursor)

    @get("/head", summary="The approval trail's head")
    async def head(self, db_session: NamedDependency[AsyncSession]) -> ChainHeadOut:
        """The last entry's seq and hash: what dealers receive through sync."""
        seq, digest = await chain_head(db_session)
        return ChainHeadOut(seq=seq, hash=digest)
