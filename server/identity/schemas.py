"""Identity request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from server.identity.models import Role
from server.schemas import Request, Response

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Secret = Annotated[str, msgspec.Meta(min_length=8, max_length=256)]


class LoginRequest(Request, kw_only=True):
    username: Username
    password: Password


class RefreshRequest(Request, kw_only=True):
    refresh_token: Secret


class TokenPair(Response, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int
    role: Role
    user_id: uuid.UUID
    dealer_id: uuid.UUID | None = None


class WechatLoginRequest(Request, kw_only=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class WechatLoginResult(Response, kw_only=True):
    """Either tokens (bound user) or a binding token for :class:`WechatBindRequest`."""

    bound: bool
    tokens: TokenPair | None = None
    binding_token: str | None = None


class WechatBindRequest(Request, kw_only=True):
    binding_token: Annotated[str, msgspec.Meta(min_length=16, max_length=2048)]
    invitation_code: Annotated[str, msgspec.Meta(min_length=6, max_length=64)]
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class DevLoginRequest(Request, kw_only=True):
    username: Username


class InvitationCreate(Request, kw_only=True):
    role: Role
    dealer_id: uuid.UUID | None = None
    display_name: Annotated[str, msgspec.Meta(max_length=64)] = ""
    ttl_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 30)] | None = None


class InvitationOut(Response, kw_only=True):
    id: uuid.UUID
    code: str
    role: Role
    dealer_id: uuid.UUID | None
    expires_at: datetime


class UserCreate(Request, kw_only=True):
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    role: Role
    username: Username | None = None
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=256)] | None = None
    dealer_id: uuid.UUID | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class UserUpdate(Request, kw_only=True):
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=256)] | None = None
    active: bool | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class UserOut(Response, kw_only=True):
    id: uuid.UUID
    display_name: str
    role: Role
    username: str | None
    dealer_id: uuid.UUID | None
    phone: str | None
    active: bool
    wechat_bound: bool
    created_at: datetime
