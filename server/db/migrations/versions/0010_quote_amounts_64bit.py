"""quote amounts are 64-bit: a line of 10^9 units at a 32-bit unit price overflowed a 32-bit column

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 02:30:00

Quote lines accept quantities up to 10^9 and unit prices up to 2^31 - 1 fen, so their
amounts (and the quote's totals) reach about 2 * 10^18: they fit a BIGINT, not an INTEGER.
PostgreSQL answered such a quote with "value out of int32 range" (a 500). SQLite's INTEGER
already holds 64 bits; its declared type is rewritten in place so both databases describe
the models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "quotes": ("list_amount", "policy_amount", "amount"),
    "quote_lines": (
        "list_unit_price",
        "list_amount",
        "policy_amount",
        "requested_unit_price",
        "amount",
    ),
}


def _retype(new: type[sa.types.TypeEngine[int]], old: type[sa.types.TypeEngine[int]]) -> None:
    bind = op.get_bind()
    for table, columns in COLUMNS.items():
        if bind.dialect.name == "postgresql":
            for column in columns:
                op.alter_column(table, column, type_=new(), existing_type=old())
            continue
        # SQLite: the stored values already are 64-bit; only the declared type changes.
        # Rewriting the schema text avoids a table copy (and its foreign keys' cascades).
        sql = bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).scalar_one()
        for column in columns:
            sql = sql.replace(
                f"{column} {old().compile(dialect=bind.dialect)}",
                f"{column} {new().compile(dialect=bind.dialect)}",
            )
        bind.exec_driver_sql("PRAGMA writable_schema = ON")
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table)
        )
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    _retype(sa.BigInteger, sa.Integer)


def downgrade() -> None:
    _retype(sa.Integer, sa.BigInteger)
