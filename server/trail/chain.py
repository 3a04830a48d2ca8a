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
(:func:`install_trail`), then moves the chain head row and inserts the entry (on PostgreSQL in
one statement: ``UPDATE`` of the head, which row-locks it, hashing in SQL, and the ``INSERT``
from its ``RETURNING``), and publishes the head to the ``trail:decisions`` sync scope. The
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
from sqlalchemy import Table, Text, bindparam, cast, event, func, insert, select, update
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
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC (always six fraction digits)."""
    if at.utcoffset():
        at = at.astimezone(UTC)
    return at.isoformat(timespec="microseconds")[:26] + "Z"


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


def _table(table: object) -> Table:
    assert isinstance(table, Table)
    return table


_H = _table(DecisionChainHead.__table__)
_E = _table(DecisionEntry.__table__)
_DECISION_COLUMNS = (
    "at",
    "actor_id",
    "role",
    "document_type",
    "document_id",
    "content_hash",
    "outcome",
    "comment",
)


def _body_prefix(d: Decision) -> bytes:
    """The entry's canonical JSON up to its ``seq``, which sorts last: body = prefix + seq + '}'."""
    whole = entry_body(
        0, d.at, d.actor_id, d.role, d.document_type, d.document_id, d.content_hash, d.outcome,
        d.comment,
    )  # fmt: skip
    return whole[: -len(b"0}")]


def _append_statement() -> Any:
    """PostgreSQL, one statement: move the head (its row lock queues concurrent appends; a
    waiting UPDATE re-reads the head another transaction committed) and insert the entry.
    The hash is computed by the database exactly as :func:`chain_hash` does."""
    prefix = bindparam("prefix", type_=Text())
    seq_text = cast(_H.c.seq + 1, Text())
    moved = (
        update(_H)
        .where(_H.c.id == _HEAD_ID)
        .values(
            seq=_H.c.seq + 1,
            prev_hash=_H.c.entry_hash,
            entry_hash=func.encode(
                func.sha256(func.convert_to(_H.c.entry_hash + prefix + seq_text + "}", "UTF8")),
                "hex",
            ),
        )
        .returning(_H.c.seq, _H.c.prev_hash, _H.c.entry_hash)
        .cte("moved")
    )
    values = select(
        moved.c.seq,
        *(bindparam(name, type_=_E.c[name].type) for name in _DECISION_COLUMNS),
        prefix + cast(moved.c.seq, Text()) + "}",
        moved.c.prev_hash,
        moved.c.entry_hash,
    )
    columns = ["seq", *_DECISION_COLUMNS, "body", "prev_hash", "entry_hash"]
    return (
        insert(_E).from_select(columns, values).add_cte(moved).returning(_E.c.seq, _E.c.entry_hash)
    )


_APPEND_PG = _append_statement()
_READ_HEAD = select(_H.c.seq, _H.c.entry_hash).where(_H.c.id == _HEAD_ID)
_MOVE_HEAD = (
    update(_H)
    .where(_H.c.id == _HEAD_ID)
    .values(
        seq=bindparam("head_seq"),
        prev_hash=bindparam("head_prev"),
        entry_hash=bindparam("head_hash"),
    )
)


async def _create_head(session: AsyncSession) -> None:
    """The head row at seq 0 (a database emptied by TRUNCATE has none)."""
    init = {"id": _HEAD_ID, "seq": 0, "prev_hash": GENESIS, "entry_hash": GENESIS}
    await session.execute(insert_ignoring_duplicates(session, DecisionChainHead, [init]))


async def _append_pg(session: AsyncSession, d: Decision) -> tuple[int, str]:
    params = {name: getattr(d, name) for name in _DECISION_COLUMNS}
    params["prefix"] = _body_prefix(d).decode()
    rows = await fast.rows(session, _APPEND_PG, params)
    if not rows:
        await _create_head(session)
        rows = await fast.rows(session, _APPEND_PG, params)
    return int(rows[0][0]), str(rows[0][1])


async def _append_elsewhere(session: AsyncSession, d: Decision) -> tuple[int, str]:
    """SQLite (its one writer serializes): read the head, compute, insert, move the head."""
    head = (await session.execute(_READ_HEAD)).first()
    if head is None:
        await _create_head(session)
        head = (await session.execute(_READ_HEAD)).one()
    seq, prev_hash = int(head[0]) + 1, str(head[1])
    body = _body_prefix(d) + str(seq).encode() + b"}"
    digest = chain_hash(prev_hash, body)
    row = {name: getattr(d, name) for name in _DECISION_COLUMNS}
    row.update(seq=seq, body=body.decode(), prev_hash=prev_hash, entry_hash=digest)
    await session.execute(insert(_E), row)
    await session.execute(
        _MOVE_HEAD, {"head_seq": seq, "head_prev": prev_hash, "head_hash": digest}
    )
    return seq, digest


async def append_decisions(session: AsyncSession) -> None:
    """Append the decisions noted in this transaction and publish the new head (pre-commit)."""
    pending: list[Decision] = session.info.pop(_PENDING, [])
    if not pending:
        return
    append = _append_pg if is_postgresql(session) else _append_elsewhere
    seq, digest = 0, GENESIS
    for d in pending:
        seq, digest = await append(session, d)
    head = {"seq": seq, "hash": digest}
    await publish_changes(
        session, TRAIL_SCOPE, [("decision_head", "head", "upsert", head)], run=fast.rows
    )


def install_trail(database: Database) -> None:
    """Make :func:`append_decisions` the last pre-commit hook of ``database`` (idempotent)."""
    if append_decisions in database.before_commit:
        database.before_commit.remove(append_decisions)
    database.before_commit.append(append_decisions)
