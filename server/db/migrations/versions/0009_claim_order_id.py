"""claim_order_id: lock a client order id and see whether it is taken, in one call

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 11:10:00

PostgreSQL only (SQLite serializes its writers). Order placement calls it in its first
statement: concurrent twins of one order id queue on the advisory lock, and the existence
check is a statement of its own inside the function, so under READ COMMITTED it sees the
order a twin committed while this one waited (the calling statement's own snapshot, taken
before the wait, would not).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION claim_order_id(namespace integer, key integer, order_id uuid)
        RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock(namespace, key);
            PERFORM 1 FROM orders WHERE id = order_id;
            RETURN FOUND;
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION claim_order_id(integer, integer, uuid)")
