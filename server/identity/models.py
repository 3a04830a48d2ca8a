"""Users, refresh tokens, invitations and WeChat bindings."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, IdMixin, TimestampMixin


class Role(enum.StrEnum):
    DEALER_ADMIN = "dealer_admin"
    DEALER_STAFF = "dealer_staff"
    REP = "rep"
    HQ_ADMIN = "hq_admin"
    HQ_OPERATOR = "hq_operator"


DEALER_ROLES = frozenset({Role.DEALER_ADMIN, Role.DEALER_STAFF})
HQ_ROLES = frozenset({Role.HQ_ADMIN, Role.HQ_OPERATOR})


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    dealer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dealers.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    wechat_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    wechat_unionid: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    token_generation: Mapped[int] = mapped_column(default=0)


class RefreshToken(IdMixin, Base):
    """One link of a rotating refresh-token family; reuse of a spent link revokes the family."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Invitation(IdMixin, TimestampMixin, Base):
    """A one-time code HQ issues so that a WeChat user can bind to a dealer account."""

    __tablename__ = "invitations"

    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    dealer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dealers.id"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    display_name: Mapped[str] = mapped_column(String(64), default="")
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
