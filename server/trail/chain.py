"""Append decisions to the hash chain, at the very end of the deciding transaction.

What an entry holds (its *canonical JSON*, the ``body``): a JSON object with exactly the keys
``actorId`` (the user's UUID, or null for the system), ``at`` (UTC, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``),
``comment`` (a string, "" when none), ``contentHash`` (see below), ``documentId``,
``documentType``, ``outcome``, ``role`` (the user's role, or ``system``) and ``seq`` (1, 2, ...).
Canonical means: keys sorted by code point, no whitespace, UTF-8, strings with only the escapes
JSON requires (non-ASCII characters as themselves). An entry's hash is
``SHA-256(prev_hash + body)`` over the UTF-8 bytes of the previous entry's hash (64 lowercase
hex digits; 64 zeros before the first entry) followed by the body; it is written as 64
lowercase hex digits.

A document's ``contentHash`` is the SHA-256 (hex) of the canonical JSON of the state the
decision was about; each deciding domain says which state in its ``decision_state`` helper.

How an append happens: the deciding service calls :func:`note_decision` (a note on the session,
no statement); :func:`append_decisions`, the last pre-commit hook of every transaction
(:func:`install_trail`), then locks the chain head row (``SELECT ... FOR UPDATE``), writes the
entries and the new head, and publishes the head to the ``trail:decisions`` sync scope. The
head lock is the last lock a transaction takes, held only until its commit: the decision's own
row and scope locks were all taken before it, so waiting for the head can never close a cycle,
and concurrent decisions line up one after the other (on SQLite the one writer already does).
``seq`` is therefore commit order; ``at`` is when the decision was made and may be a moment
out of order. A transaction that commits with a noted decision but without the hook installed
fails instead of losing the entry silently.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from server.db import fast
from server.db.base import utcnow
from server.db.dialect import insert_ignoring_duplicates, is_postgresql
from server.db.engine import Database
from server.trail.models import DecisionChainHead, DecisionEntry
from sync import publish_changes

GENESIS = "0" * 64
TRAIL_SCOPE = "trail:decisions"
SYSTEM_ROLE = "system"
_PENDING = "trail.pending"
_GUARDED = "trail.guarded"
_HEAD_ID = 1


class Actor(Protocol):
    """Who decided (``server.identity.Principal`` is one)."""

    @property
    def user_id(self) -> uuid.UUID: ...

    @property
    def role(self) -> object: ...


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """A decision noted in the transaction, not yet in the chain."""

    at: datetime
    actor_id: uuid.UUID | None
    role: str
    document_type: str
    document_id: str
    content_hash: str
    outcome: str
    comment: str


def canonical(value: Any) -> bytes:
    """The canonical JSON of ``value`` (sorted keys, no whitespace, UTF-8)."""
    return msgspec.json.encode(value, order="sorted")


def content_hash(state: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a document's state."""
    return hashlib.sha256(canonical(state)).hexdigest()


def iso_at(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_body(
    seq: int,
    at: datetime,
    actor_id: uuid.UUID | None,
    role: str,
    document_type: str,
    document_id: str,
    digest: str,
    outcome: str,
    comment: str,
) -> bytes:
    """An entry's canonical JSON (see the module docstring for its keys)."""
    return canonical(
        {
            "actorId": None if actor_id is None else str(actor_id),
            "at": iso_at(at),
            "comment": comment,
            "contentHash": digest,
            "documentId": document_id,
            "documentType": document_type,
            "outcome": outcome,
            "role": role,
            "seq": seq,
        }
    )


def chain_hash(prev_hash: str, body: bytes) -> str:
    """SHA-256 (hex) of the previous entry's hash followed by this entry's body."""
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def note_decision(
    session: AsyncSession,
    actor: Actor | None,
    document_type: str,
    document_id: object,
    outcome: str,
    state: Mapping[str, Any],
    comment: str = "",
) -> None:
    """Note a decision on ``document``; it joins the chain when the transaction commits.

    ``state`` is the document's canonical state the decision was about (hashed, not stored);
    ``actor`` None is the system deciding (an automatic claim decision, the CLI).
    """
    pending: list[Decision] = session.info.setdefault(_PENDING, [])
    pending.append(
        Decision(
            at=utcnow(),
            actor_id=actor.user_id if actor else None,
            role=str(actor.role) if actor else SYSTEM_ROLE,
            document_type=document_type,
            document_id=str(document_id),
            content_hash=content_hash(state),
            outcome=outcome,
            comment=comment,
        )
    )
    if not session.info.get(_GUARDED):
        session.info[_GUARDED] = True
        event.listen(session.sync_session, "before_commit", _refuse_unappended)
        event.listen(session.sync_session, "after_transaction_end", _forget_on_end)


def _refuse_unappended(session: Session) -> None:
    if session.get_nested_transaction() is None and session.info.get(_PENDING):
        raise RuntimeError(
            "a decision was noted but the transaction commits without appending it to the "
            "approval trail: install server.trail.install_trail on this database"
        )


def _forget_on_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction: committed or rolled back
        session.info.pop(_PENDING, None)


_LOCK_HEAD = (
    select(DecisionChainHead.seq, DecisionChainHead.entry_hash)
    .where(DecisionChainHead.id == _HEAD_ID)
    .with_for_update()
)
_INSERT_ENTRY = insert(DecisionEntry)
_MOVE_HEAD = (
    update(DecisionChainHead)
    .where(DecisionChainHead.id == _HEAD_ID)
    .values(seq=bindparam("head_seq"), entry_hash=bindparam("head_hash"))
)
# PostgreSQL: the entry and the new head in one statement.
_APPEND_PG = _MOVE_HEAD.add_cte(
    insert(DecisionEntry)
    .values({c.name: bindparam(c.name) for c in DecisionEntry.__table__.columns})
    .cte("appended")
)


async def _locked_head(session: AsyncSession) -> tuple[int, str]:
    """The chain head, row-locked to commit (created at seq 0 on an empty database)."""
    rows = await fast.rows(session, _LOCK_HEAD)
    if not rows:
        init = {"id": _HEAD_ID, "seq": 0, "entry_hash": GENESIS}
        await session.execute(insert_ignoring_duplicates(session, DecisionChainHead, [init]))
        rows = await fast.rows(session, _LOCK_HEAD)
    return int(rows[0][0]), str(rows[0][1])


async def append_decisions(session: AsyncSession) -> None:
    """Append the decisions noted in this transaction and publish the new head (pre-commit)."""
    pending: list[Decision] = session.info.pop(_PENDING, [])
    if not pending:
        return
    seq, prev_hash = await _locked_head(session)
    on_postgresql = is_postgresql(session)
    for d in pending:
        seq += 1
        body = entry_body(
            seq,
            d.at,
            d.actor_id,
            d.role,
            d.document_type,
            d.document_id,
            d.content_hash,
            d.outcome,
            d.comment,
        )
        entry_hash = chain_hash(prev_hash, body)
        row = {
            "seq": seq,
            "at": d.at,
            "actor_id": d.actor_id,
            "role": d.role,
            "document_type": d.document_type,
            "document_id": d.document_id,
            "content_hash": d.content_hash,
            "outcome": d.outcome,
            "comment": d.comment,
            "body": body.decode(),
            "prev_hash": prev_hash,
            "entry_hash": entry_hash,
        }
        if on_postgresql:
            await fast.write(session, _APPEND_PG, {**row, "head_seq": seq, "head_hash": entry_hash})
        else:
            await session.execute(_INSERT_ENTRY, row)
            await session.execute(_MOVE_HEAD, {"head_seq": seq, "head_hash": entry_hash})
        prev_hash = entry_hash
    head = {"seq": seq, "hash": prev_hash}
    await publish_changes(
        session, TRAIL_SCOPE, [("decision_head", "head", "upsert", head)], run=fast.rows
    )


def install_trail(database: Database) -> None:
    """Make :func:`append_decisions` the last pre-commit hook of ``database`` (idempotent)."""
    if append_decisions in database.before_commit:
        database.before_commit.remove(append_decisions)
    database.before_commit.append(append_decisions)
