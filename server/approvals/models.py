"""Approval chains (审批流): HQ's flow per document type, and each document's run through it.

A flow is a list of steps (approver: a role or named users, ``any`` or ``all`` of them;
conditions on amount, tier, region and reasons; on or off). When a document needs approval
the steps whose conditions hold are copied into an ``approval_tasks`` row (later edits of the
flow do not change a run under way); votes are ``approval_votes`` rows, one per approver and
step. The task row is locked for every vote, so two approvers of one step cannot both move it.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, TimestampMixin, utcnow


class ApprovalDocument(enum.StrEnum):
    ORDER = "order"
    RETURN = "return"
    QUOTE_DISCOUNT = "quote_discount"
    CLAIM = "claim"
    CREDIT_LIMIT = "credit_limit"


class TaskStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # the document was withdrawn while its run was under way


class ApprovalFlow(TimestampMixin, Base):
    """HQ's steps for one document type."""

    __tablename__ = "approval_flows"

    document_type: Mapped[ApprovalDocument] = mapped_column(
        Enum(ApprovalDocument, native_enum=False, length=24), primary_key=True
    )
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_by: Mapped[uuid.UUID | None]


class ApprovalTask(IdMixin, TimestampMixin, Base):
    """One document's run through its flow: the steps that applied, where it stands."""

    __tablename__ = "approval_tasks"
    __table_args__ = (UniqueConstraint("document_type", "document_id", "round"),)

    document_type: Mapped[ApprovalDocument] = mapped_column(
        Enum(ApprovalDocument, native_enum=False, length=24)
    )
    document_id: Mapped[str] = mapped_column(String(64))
    round: Mapped[int] = mapped_column(Integer, default=1)
    dealer_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the document's domain does on approval (a credit limit request: the new limit)."""
    content_hash: Mapped[str] = mapped_column(String(64))
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    current: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[TaskStatus] = mapped_column(
        Enum(TaskStatus, native_enum=False, length=16), index=True
    )
    decided_at: Mapped[datetime | None]


class ApprovalVote(IdMixin, Base):
    """One approver's decision on one step: who, when, the document's hash, a comment."""

    __tablename__ = "approval_votes"
    __table_args__ = (UniqueConstraint("task_id", "step", "actor_id"),)

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("approval_tasks.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[uuid.UUID]
    actor_role: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(String(500), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
