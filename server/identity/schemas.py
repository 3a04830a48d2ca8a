"""Identity request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from server.identity.models import Role
from server.schemas import Request, Response
from server.text import one_line

Username = Annotated[str, one_line(64, min_length=1)]
Password = Annotated[str, one_line(256, min_length=1)]
Secret = Annotated[str, one_line(256, min_length=8)]


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
    code: Annotated[str, one_line(128, min_length=1)]


class WechatLoginResult(Response, kw_only=True):
    """Either tokens (bound user) or a binding token for :class:`WechatBindRequest`."""

    bound: bool
    tokens: TokenPair | None = None
    binding_token: str | None = None


class WechatBindRequest(Request, kw_only=True):
    binding_token: Annotated[str, one_line(2048, min_length=16)]
    invitation_code: Annotated[str, one_line(64, min_length=6)]
    display_name: Annotated[str, one_line(64, min_length=1)] | None = None


class DevLoginRequest(Request, kw_only=True):
    username: Username


class InvitationCreate(Request, kw_only=True):
    role: Role
    dealer_id: uuid.UUID | None = None
    display_name: Annotated[str, one_line(64)] = ""
    ttl_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 30)] | None = None


class InvitationOut(Response, kw_only=True):
    id: uuid.UUID
    code: str
    role: Role
    dealer_id: uuid.UUID | None
    expires_at: datetime


class UserCreate(Request, kw_only=True):
    display_name: Annotated[str, one_line(64, min_length=1)]
    role: Role
    username: Username | None = None
    password: Annotated[str, one_line(256, min_length=8)] | None = None
    dealer_id: uuid.UUID | None = None
    phone: Annotated[str, one_line(32)] | None = None


class UserUpdate(Request, kw_only=True):
    display_name: Annotated[str, one_line(64, min_length=1)] | None = None
    password: Annotated[str, one_line(256, min_length=8)] | None = None
    active: bool | None = None
    phone: Annotated[str, one_line(32)] | None = None


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
