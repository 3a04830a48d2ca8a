"""Recompute the approval trail and name the first entry that does not match.

Entries are read in ``seq`` order and each is checked in turn: it follows the previous one
(``seq`` + 1, from 1), its columns give back its stored canonical JSON, it links to the hash
recomputed for the previous entry, and its own hash is ``SHA-256(prev_hash + body)``. Then
the chain head row must name the last entry. An edited, deleted or reordered row therefore
shows up at the first entry it touches. ``expected`` checks a head a dealer received through
sync (seq and hash): an entry rewritten together with every later hash still differs there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.messages import texts
from server.trail.chain import GENESIS, chain_hash, entry_body
from server.trail.models import DecisionChainHead, DecisionEntry

_BATCH = 20_000
_E = DecisionEntry
_COLUMNS = (
    _E.seq,
    _E.at,
    _E.actor_id,
    _E.role,
    _E.document_type,
    _E.document_id,
    _E.content_hash,
    _E.outcome,
    _E.comment,
    _E.body,
    _E.prev_hash,
    _E.entry_hash,
)


class Verification(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """What ``audit verify`` found: ``ok``, the entries checked, the last good entry, and at the
    first break its ``seq`` with a reason code and the texts a person reads."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    code: str
    zh: str
    en: str


def _result(
    ok: bool, checked: int, good: tuple[int, str], code: str, **params: Any
) -> Verification:
    """``good``: the last entry that verified (its seq and hash)."""
    text = texts(code, **params)
    return Verification(
        ok=ok,
        checked=checked,
        head_seq=good[0],
        head_hash=good[1],
        broken_seq=None if ok else params.get("seq"),
        code=code,
        zh=text.zh,
        en=text.en,
    )


async def _entries(session: AsyncSession) -> AsyncIterator[Sequence[Any]]:
    """Every entry's columns in ``seq`` order, read in batches by a server-side cursor (on
    PostgreSQL through the driver: a million rows through SQLAlchemy's result processing take
    several times longer; the values are the same, an aware UTC ``at`` and the actor's UUID)."""
    stmt = select(*_COLUMNS).order_by(_E.seq)
    if session.get_bind().dialect.name == "postgresql":
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, asyncpg.Connection)
        sql = str(stmt.compile(dialect=connection.dialect))
        async for record in driver.cursor(sql, prefetch=_BATCH):
            yield record
        return
    result = await session.stream(stmt.execution_options(yield_per=_BATCH))
    async for partition in result.partitions():
        for row in partition:
            yield row


async def verify_trail(
    session: AsyncSession, expected: tuple[int, str] | None = None
) -> Verification:
    """Recompute the chain; the first entry that does not match, or that it verifies.

    In a session that has not begun (the CLI's), the head and the entries are read in one
    REPEATABLE READ snapshot, so decisions committing meanwhile are simply not seen (on SQLite
    a read transaction is one snapshot already).
    """
    on_postgresql = session.get_bind().dialect.name == "postgresql"
    if on_postgresql and not session.in_transaction():
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    head = (
        await session.execute(select(DecisionChainHead.seq, DecisionChainHead.entry_hash))
    ).first()
    head_seq, head_hash = (int(head[0]), str(head[1])) if head else (0, GENESIS)
    seq, digest, checked = 0, GENESIS, 0
    expected_seen = expected is None or expected[0] == 0
    async for row in _entries(session):
        number, at, actor, role, dtype, did, chash, outcome, comment, body, prev, own = row
        good = (seq, digest)
        if number != seq + 1:
            return _result(False, checked, good, "trail.entry_missing", seq=number, previous=seq)
        rebuilt = entry_body(number, at, actor, role, dtype, did, chash, outcome, comment)
        if rebuilt != body.encode():
            return _result(False, checked, good, "trail.entry_altered", seq=number)
        if prev != digest:
            return _result(False, checked, good, "trail.link_broken", seq=number, previous=seq)
        recomputed = chain_hash(digest, rebuilt)
        if own != recomputed:
            return _result(False, checked, good, "trail.hash_mismatch", seq=number)
        seq, digest, checked = number, recomputed, checked + 1
        if expected is not None and seq == expected[0]:
            if digest != expected[1]:
                return _result(False, checked, good, "trail.expected_mismatch", seq=seq)
            expected_seen = True
    good = (seq, digest)
    if (head_seq, head_hash) != good:
        return _result(False, checked, good, "trail.head_mismatch", seq=head_seq, last=seq)
    if not expected_seen:
        assert expected is not None
        return _result(False, checked, good, "trail.expected_missing", seq=expected[0], last=seq)
    return _result(True, checked, good, "trail.verified", count=checked, seq=seq, hash=digest)
