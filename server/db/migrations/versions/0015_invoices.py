"""invoices: dealers' invoice titles, invoice requests (blue and red), the shipments they hold

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 12:32:11

A shipment is on at most one live blue request: ``invoice_shipments`` is keyed by the
shipment, and a rejected or cancelled request deletes its rows. A red request names the blue
invoice it reverses and its source; one per pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invoice_titles",
        sa.Column(
            "kind",
            sa.Enum("GENERAL", "SPECIAL", name="titlekind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("company_name", sa.String(length=100), nullable=False),
        sa.Column("tax_id", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("bank_name", sa.String(length=64), nullable=False),
        sa.Column("bank_account", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=128), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dealer_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_invoice_titles_dealer_id_dealers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_titles")),
    )
    with op.batch_alter_table("invoice_titles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_titles_dealer_id"), ["dealer_id"], unique=False
        )

    op.create_table(
        "invoices",
        sa.Column(
            "kind",
            sa.Enum("BLUE", "RED", name="invoicekind", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "REQUESTED",
                "ISSUED",
                "REJECTED",
                "CANCELLED",
                name="invoicestatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("goods", sa.BigInteger(), nullable=False),
        sa.Column("rebate", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("covers", sa.JSON(), nullable=False),
        sa.Column("original_id", sa.Uuid(), nullable=True),
        sa.Column("reference", sa.String(length=80), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=True),
        sa.Column("pdf_key", sa.String(length=255), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dealer_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_invoices_dealer_id_dealers")
        ),
        sa.ForeignKeyConstraint(
            ["original_id"], ["invoices.id"], name=op.f("fk_invoices_original_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
        sa.UniqueConstraint(
            "original_id", "reference", name=op.f("uq_invoices_original_id_reference")
        ),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_dealer_id"), ["dealer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_original_id"), ["original_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_status"), ["status"], unique=False)

    op.create_table(
        "invoice_shipments",
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_shipments_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["order_shipments.id"],
            name=op.f("fk_invoice_shipments_shipment_id_order_shipments"),
        ),
        sa.PrimaryKeyConstraint("shipment_id", name=op.f("pk_invoice_shipments")),
    )
    with op.batch_alter_table("invoice_shipments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_shipments_invoice_id"), ["invoice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_invoice_shipments_order_id"), ["order_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("invoice_shipments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_shipments_order_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_shipments_invoice_id"))

    op.drop_table("invoice_shipments")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_status"))
        batch_op.drop_index(batch_op.f("ix_invoices_original_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_dealer_id"))

    op.drop_table("invoices")
    with op.batch_alter_table("invoice_titles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_titles_dealer_id"))

    op.drop_table("invoice_titles")
