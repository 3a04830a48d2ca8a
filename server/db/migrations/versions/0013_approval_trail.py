"""approval trail: the hash-chained decision log and its head

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 09:30:00

``decision_entries`` is append-only: on PostgreSQL a trigger refuses UPDATE and DELETE, so
an edit needs someone who can also disable triggers (and ``channelhub audit verify`` still
names it). ``decision_chain_head`` holds one row (id 1): the last entry's seq and hash (and
the hash before it).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "decision_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("document_type", sa.String(length=32), nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_decision_entries")),
    )
    op.create_index(
        "ix_decision_entries_document",
        "decision_entries",
        ["document_type", "document_id", "seq"],
        unique=False,
    )
    op.create_index(
        "ix_decision_entries_actor_id", "decision_entries", ["actor_id", "seq"], unique=False
    )
    op.create_index("ix_decision_entries_at", "decision_entries", ["at"], unique=False)
    head = op.create_table(
        "decision_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_chain_head")),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "prev_hash": _GENESIS, "entry_hash": _GENESIS}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION decision_entries_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'decision_entries is append-only';
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER decision_entries_append_only BEFORE UPDATE OR DELETE "
            "ON decision_entries FOR EACH ROW EXECUTE FUNCTION decision_entries_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER decision_entries_append_only ON decision_entries")
        op.execute("DROP FUNCTION decision_entries_append_only()")
    op.drop_table("decision_chain_head")
    op.drop_index("ix_decision_entries_at", table_name="decision_entries")
    op.drop_index("ix_decision_entries_actor_id", table_name="decision_entries")
    op.drop_index("ix_decision_entries_document", table_name="decision_entries")
    op.drop_table("decision_entries")
