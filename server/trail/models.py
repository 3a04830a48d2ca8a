"""The approval trail: an append-only, hash-chained log of decisions, and the chain's head.

``decision_entries`` rows are only ever inserted (on PostgreSQL a trigger refuses UPDATE and
DELETE); ``decision_chain_head`` is one row (id 1) holding the last entry's seq, its hash and the hash
before it, locked by every append so that two committing decisions never fork the chain.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base


class DecisionEntry(Base):
    __tablename__ = "decision_entries"
    __table_args__ = (
        Index("ix_decision_entries_document", "document_type", "document_id", "seq"),
        Index("ix_decision_entries_actor_id", "actor_id", "seq"),
        Index("ix_decision_entries_at", "at"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None]
    role: Mapped[str] = mapped_column(String(16))
    document_type: Mapped[str] = mapped_column(String(32))
    document_id: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class DecisionChainHead(Base):
    __tablename__ = "decision_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
