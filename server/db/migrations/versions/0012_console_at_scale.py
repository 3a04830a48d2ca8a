"""console at scale: orders by placing time (today's figures on the overview)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 09:00:00

The overview counts today's orders and their amount; without an index on ``created_at``
that is a scan of every order (47 ms at 200,000 orders on the dev box, 0.5 ms with it).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_created_at")
