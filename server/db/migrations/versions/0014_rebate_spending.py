"""rebate spending: tiers' rebate caps, dealers' default choice, the rebate an order pays

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 10:00:00

A tier says how far rebate may pay an order (basis points of the eligible goods amount,
optionally without some categories and promoted lines); a dealer says whether its orders
spend rebate when they do not say; an order records the rebate it pays. Existing tiers get
a cap of 0 (rebate pays nothing until HQ sets one), existing dealers spend rebate by default.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dealer_tiers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rebate_cap_bp", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("rebate_excluded_categories", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("rebate_excludes_promoted", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_dealer_tiers_rebate_cap_bp_range"), "rebate_cap_bp BETWEEN 0 AND 10000"
        )
    with op.batch_alter_table("dealers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("uses_rebate", sa.Boolean(), server_default="1", nullable=False)
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rebate", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("rebate")
    with op.batch_alter_table("dealers", schema=None) as batch_op:
        batch_op.drop_column("uses_rebate")
    with op.batch_alter_table("dealer_tiers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_dealer_tiers_rebate_cap_bp_range"), type_="check")
        batch_op.drop_column("rebate_excludes_promoted")
        batch_op.drop_column("rebate_excluded_categories")
        batch_op.drop_column("rebate_cap_bp")
