"""announcements: HQ's notices, their attachments and read receipts

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 12:30:00

An announcement targets all dealers, tiers, regions or named dealers (``audience`` with
``targets``); attachments are uploaded with presigned forms and checked when it is
published; a read is one row per dealer user (dealer-owned).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column(
            "status",
            sa.Enum(
                "DRAFT",
                "PUBLISHED",
                "WITHDRAWN",
                name="announcementstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("title_zh", sa.String(length=120), nullable=False),
        sa.Column("title_en", sa.String(length=120), nullable=False),
        sa.Column("body_zh", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column(
            "audience",
            sa.Enum(
                "ALL", "TIERS", "REGIONS", "DEALERS", name="audience", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    op.create_index(op.f("ix_announcements_status"), "announcements", ["status"], unique=False)
    op.create_table(
        "announcement_attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("announcement_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=128), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_announcement_attachments_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement_attachments")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_announcement_attachments_storage_key")),
    )
    op.create_index(
        op.f("ix_announcement_attachments_announcement_id"),
        "announcement_attachments",
        ["announcement_id"],
        unique=False,
    )
    op.create_table(
        "announcement_reads",
        sa.Column("announcement_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dealer_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_announcement_reads_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_announcement_reads_dealer_id_dealers")
        ),
        sa.PrimaryKeyConstraint("announcement_id", "user_id", name=op.f("pk_announcement_reads")),
    )
    op.create_index(
        op.f("ix_announcement_reads_dealer_id"), "announcement_reads", ["dealer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_announcement_reads_dealer_id"), table_name="announcement_reads")
    op.drop_table("announcement_reads")
    op.drop_index(
        op.f("ix_announcement_attachments_announcement_id"), table_name="announcement_attachments"
    )
    op.drop_table("announcement_attachments")
    op.drop_index(op.f("ix_announcements_status"), table_name="announcements")
    op.drop_table("announcements")
