"""notifications: events, the inbox, WeChat subscription templates, grants, messages, token

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 12:40:00

One event per (kind, key); one inbox item per (event, dealer); one subscription message per
(event, user): a message is sent at most once per event and user. ``wechat_access_tokens``
holds one row (id 1), the shared access token, locked by the process that refreshes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("dealer_ids", sa.JSON(), nullable=False),
        sa.Column("user_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_events")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_notification_events_kind_key")),
    )
    _inbox()
    op.create_table(
        "subscription_templates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("event_kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("page", sa.String(length=256), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_templates")),
        sa.UniqueConstraint("template_id", name=op.f("uq_subscription_templates_template_id")),
    )
    op.create_index(
        op.f("ix_subscription_templates_event_kind"), "subscription_templates", ["event_kind"]
    )
    op.create_table(
        "subscription_grants",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("last_result", sa.String(length=16), nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.CheckConstraint(
            "remaining >= 0", name=op.f("ck_subscription_grants_remaining_non_negative")
        ),
        sa.PrimaryKeyConstraint("user_id", "template_id", name=op.f("pk_subscription_grants")),
    )
    _messages()
    op.create_table(
        "wechat_access_tokens",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=512), nullable=False),
        sa.Column("expires_at", _AT, nullable=True),
        sa.Column("fetched_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_access_tokens")),
    )


def _inbox() -> None:
    op.create_table(
        "inbox_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dealer_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title_zh", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("body_zh", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("read_at", _AT, nullable=True),
        sa.Column("read_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_inbox_items_dealer_id_dealers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_items")),
        sa.UniqueConstraint(
            "event_id", "dealer_id", name=op.f("uq_inbox_items_event_id_dealer_id")
        ),
    )
    op.create_index(op.f("ix_inbox_items_dealer_id"), "inbox_items", ["dealer_id"])
    op.create_index(op.f("ix_inbox_items_event_id"), "inbox_items", ["event_id"])
    op.create_index(op.f("ix_inbox_items_created_at"), "inbox_items", ["created_at"])


def _messages() -> None:
    op.create_table(
        "subscription_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("sent_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_messages")),
        sa.UniqueConstraint(
            "event_id", "user_id", name=op.f("uq_subscription_messages_event_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_subscription_messages_event_id"), "subscription_messages", ["event_id"]
    )
    op.create_index(op.f("ix_subscription_messages_user_id"), "subscription_messages", ["user_id"])


def downgrade() -> None:
    op.drop_table("wechat_access_tokens")
    op.drop_table("subscription_messages")
    op.drop_table("subscription_grants")
    op.drop_table("subscription_templates")
    op.drop_table("inbox_items")
    op.drop_table("notification_events")
