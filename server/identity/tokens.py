"""Short-lived JWT access tokens and opaque rotating refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from server.errors import Unauthorized
from server.identity.models import Role
from server.identity.principal import Principal
from server.settings import AuthSettings

ALGORITHM = "HS256"
ISSUER = "channelhub"


def issue_access_token(
    settings: AuthSettings, principal: Principal, now: datetime | None = None
) -> str:
    moment = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "typ": "access",
        "sub": str(principal.user_id),
        "role": str(principal.role),
        "iat": int(moment.timestamp()),
        "exp": int((moment + timedelta(seconds=settings.access_ttl_seconds)).timestamp()),
        "jti": secrets.token_hex(8),
    }
    if principal.dealer_id is not None:
        claims["dealer"] = str(principal.dealer_id)
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def issue_purpose_token(
    settings: AuthSettings, purpose: str, subject: str, ttl_seconds: int
) -> str:
    """A signed short-lived token for one step of a flow (e.g. WeChat binding)."""
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "typ": purpose,
        "sub": subject,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def read_purpose_token(settings: AuthSettings, token: str, purpose: str) -> str:
    claims = _decode(settings, token)
    if claims.get("typ") != purpose:
        raise Unauthorized("token_invalid", "令牌无效", "Invalid token")
    return str(claims["sub"])


def decode_access_token(settings: AuthSettings, token: str) -> Principal:
    claims = _decode(settings, token)
    if claims.get("typ") != "access":
        raise Unauthorized("token_invalid", "令牌无效", "Invalid token")
    try:
        return Principal(
            user_id=uuid.UUID(str(claims["sub"])),
            role=Role(str(claims["role"])),
            dealer_id=uuid.UUID(str(claims["dealer"])) if claims.get("dealer") else None,
            token_id=str(claims.get("jti", "")),
        )
    except (KeyError, ValueError) as exc:
        raise Unauthorized("token_invalid", "令牌无效", "Invalid token") from exc


def _decode(settings: AuthSettings, token: str) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "typ"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token_expired", "登录已过期，请重新登录", "Token expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("token_invalid", "令牌无效", "Invalid token") from exc


def new_refresh_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
