"""approval chains: HQ's flow per document type, each document's run, the approvers' votes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 13:00:00

A run copies the steps that applied when it started; a vote is one approver's decision on
one step (one per approver and step).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "approval_flows",
        sa.Column(
            "document_type",
            sa.Enum(
                "ORDER",
                "RETURN",
                "QUOTE_DISCOUNT",
                "CLAIM",
                "CREDIT_LIMIT",
                name="approvaldocument",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("document_type", name=op.f("pk_approval_flows")),
    )
    op.create_table(
        "approval_tasks",
        sa.Column(
            "document_type",
            sa.Enum(
                "ORDER",
                "RETURN",
                "QUOTE_DISCOUNT",
                "CLAIM",
                "CREDIT_LIMIT",
                name="approvaldocument",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Uuid(), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("current", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "APPROVED",
                "REJECTED",
                "CANCELLED",
                name="taskstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_tasks")),
        sa.UniqueConstraint(
            "document_type",
            "document_id",
            "round",
            name=op.f("uq_approval_tasks_document_type_document_id_round"),
        ),
    )
    with op.batch_alter_table("approval_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_approval_tasks_dealer_id"), ["dealer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_approval_tasks_status"), ["status"], unique=False)

    op.create_table(
        "approval_votes",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["approval_tasks.id"],
            name=op.f("fk_approval_votes_task_id_approval_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_votes")),
        sa.UniqueConstraint(
            "task_id", "step", "actor_id", name=op.f("uq_approval_votes_task_id_step_actor_id")
        ),
    )
    with op.batch_alter_table("approval_votes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_votes_task_id"), ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("approval_votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_votes_task_id"))

    op.drop_table("approval_votes")
    with op.batch_alter_table("approval_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_tasks_status"))
        batch_op.drop_index(batch_op.f("ix_approval_tasks_dealer_id"))

    op.drop_table("approval_tasks")
    op.drop_table("approval_flows")
