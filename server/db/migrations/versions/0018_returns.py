"""returns: requested, decided, received and refunded; refunds recorded on funds holds

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 13:00:00

``returns`` (client ids), their lines, photos and approval-step decisions, and HQ's return
window (``return_settings``, one row). A funds hold records what refunds gave back of each
source's capture (``refunded_*``, never above it).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "return_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_settings")),
    )
    op.create_table(
        "returns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "REQUESTED",
                "APPROVED",
                "REJECTED",
                "REFUNDED",
                name="returnstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column(
            "disposition",
            sa.Enum(
                "SELLABLE", "QUARANTINE", "SCRAP", name="disposition", native_enum=False, length=16
            ),
            nullable=True,
        ),
        sa.Column("refund", sa.BigInteger(), nullable=False),
        sa.Column("refund_prepaid", sa.BigInteger(), nullable=False),
        sa.Column("refund_credit", sa.BigInteger(), nullable=False),
        sa.Column("refund_rebate", sa.BigInteger(), nullable=False),
        sa.Column("clawback", sa.BigInteger(), nullable=False),
        sa.Column("clawback_short", sa.BigInteger(), nullable=False),
        sa.Column("returned_value", sa.BigInteger(), nullable=False),
        sa.Column("exchange", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("exchange_order_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dealer_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_returns_dealer_id_dealers")
        ),
        sa.ForeignKeyConstraint(
            ["exchange_order_id"], ["orders.id"], name=op.f("fk_returns_exchange_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_returns_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returns")),
    )
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_returns_dealer_id"), ["dealer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_returns_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_returns_status"), ["status"], unique=False)

    op.create_table(
        "return_decisions",
        sa.Column("return_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["returns.id"],
            name=op.f("fk_return_decisions_return_id_returns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_decisions")),
    )
    with op.batch_alter_table("return_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_return_decisions_return_id"), ["return_id"], unique=False
        )

    op.create_table(
        "return_lines",
        sa.Column("return_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("order_line", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Uuid(), nullable=False),
        sa.Column("sku_code", sa.String(length=32), nullable=False),
        sa.Column("sku_name", sa.String(length=128), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("refund", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_return_lines_qty_positive")),
        sa.CheckConstraint("refund >= 0", name=op.f("ck_return_lines_refund_not_negative")),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["returns.id"],
            name=op.f("fk_return_lines_return_id_returns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_return_lines_sku_id_skus")),
        sa.PrimaryKeyConstraint("return_id", "line", name=op.f("pk_return_lines")),
    )
    with op.batch_alter_table("return_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_lines_order_id"), ["order_id"], unique=False)

    op.create_table(
        "return_photos",
        sa.Column("return_id", sa.Uuid(), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["returns.id"],
            name=op.f("fk_return_photos_return_id_returns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_photos")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_return_photos_storage_key")),
    )
    with op.batch_alter_table("return_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_photos_return_id"), ["return_id"], unique=False)

    with op.batch_alter_table("funds_holds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("refunded_prepaid", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("refunded_credit", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("refunded_rebate", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_funds_holds_refunds_within_captured"),
            "refunded_prepaid BETWEEN 0 AND captured_prepaid "
            "AND refunded_credit BETWEEN 0 AND captured_credit "
            "AND refunded_rebate BETWEEN 0 AND captured_rebate",
        )


def downgrade() -> None:
    with op.batch_alter_table("funds_holds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_funds_holds_refunds_within_captured"), type_="check")
        batch_op.drop_column("refunded_rebate")
        batch_op.drop_column("refunded_credit")
        batch_op.drop_column("refunded_prepaid")

    with op.batch_alter_table("return_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_photos_return_id"))

    op.drop_table("return_photos")
    with op.batch_alter_table("return_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_lines_order_id"))

    op.drop_table("return_lines")
    with op.batch_alter_table("return_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_decisions_return_id"))

    op.drop_table("return_decisions")
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_returns_status"))
        batch_op.drop_index(batch_op.f("ix_returns_order_id"))
        batch_op.drop_index(batch_op.f("ix_returns_dealer_id"))

    op.drop_table("returns")
    op.drop_table("return_settings")
