"""receipt identity: shop, number and date-time-total keys, and image keypoint features

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 02:10:00

Duplicates are judged by what a receipt says (same shop and number, or same shop, date,
time and total); the keypoint features only support a match.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = ("merchant_key", "number_key", "moment_key")


def upgrade() -> None:
    with op.batch_alter_table("claim_receipts", schema=None) as batch_op:
        for name in _KEYS:
            batch_op.add_column(sa.Column(name, sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("image_features", sa.LargeBinary(), nullable=True))
        for name in _KEYS:
            batch_op.create_index(batch_op.f(f"ix_claim_receipts_{name}"), [name], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("claim_receipts", schema=None) as batch_op:
        for name in _KEYS:
            batch_op.drop_index(batch_op.f(f"ix_claim_receipts_{name}"))
        batch_op.drop_column("image_features")
        for name in _KEYS:
            batch_op.drop_column(name)
