"""Logins, token rotation, WeChat binding, invitations and user administration."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.db.repository import flush_or_conflict, get_or_404
from server.errors import Forbidden, Invalid, NotFound, Unauthorized
from server.identity import schemas
from server.identity.models import DEALER_ROLES, Invitation, RefreshToken, Role, User
from server.identity.passwords import hash_password, verify_password
from server.identity.principal import Principal
from server.identity.throttle import LoginThrottle
from server.identity.tokens import (
    hash_secret,
    issue_access_token,
    issue_purpose_token,
    new_refresh_secret,
    read_purpose_token,
)
from server.identity.wechat import WechatClient
from server.settings import AuthSettings

BINDING_PURPOSE = "wechat_binding"
_BAD_LOGIN = ("login_failed", "用户名或密码错误", "Wrong username or password")


class DealerStanding(Protocol):
    """Whether a dealer's users may sign in: True (open), False (closed), None (no such dealer).

    Dealers sit above identity, so identity never reads their table: the composition root
    passes ``server.dealers.dealer_standing`` (``state.dealer_standing``).
    """

    async def __call__(self, session: AsyncSession, dealer_id: uuid.UUID) -> bool | None: ...


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role, dealer_id=user.dealer_id)


async def _assert_can_login(session: AsyncSession, user: User, standing: DealerStanding) -> None:
    if not user.active:
        raise Unauthorized("user_disabled", "账号已停用", "This account is disabled")
    if user.dealer_id is not None and not await standing(session, user.dealer_id):
        raise Unauthorized("dealer_closed", "经销商账户已关闭", "The dealer account is closed")


async def issue_tokens(
    session: AsyncSession, settings: AuthSettings, user: User, family_id: uuid.UUID | None = None
) -> schemas.TokenPair:
    """A fresh access token and the next refresh token of the family."""
    now = datetime.now(UTC)
    secret = new_refresh_secret()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=hash_secret(secret),
            issued_at=now,
            expires_at=now + timedelta(seconds=settings.refresh_ttl_seconds),
        )
    )
    principal = principal_of(user)
    return schemas.TokenPair(
        access_token=issue_access_token(settings, principal, now),
        refresh_token=secret,
        expires_in=settings.access_ttl_seconds,
        role=user.role,
        user_id=user.id,
        dealer_id=user.dealer_id,
    )


async def login(
    session: AsyncSession,
    settings: AuthSettings,
    throttle: LoginThrottle,
    body: schemas.LoginRequest,
    address: str,
    standing: DealerStanding,
) -> schemas.TokenPair:
    """Password login for HQ and app users, throttled per username and address."""
    user = await authenticate(session, throttle, body.username, body.password, address, standing)
    return await issue_tokens(session, settings, user)


async def authenticate(
    session: AsyncSession,
    throttle: LoginThrottle,
    username: str,
    password: str,
    address: str,
    standing: DealerStanding,
) -> User:
    """The user these credentials name (throttled per username and address), or 401."""
    await throttle.check(username, address)
    user = (
        await session.execute(select(User).where(User.username == username.strip()))
    ).scalar_one_or_none()
    if not verify_password(user.password_hash if user else None, password) or user is None:
        await throttle.failed(username, address)
        raise Unauthorized(*_BAD_LOGIN)
    await _assert_can_login(session, user, standing)
    await throttle.succeeded(username, address)
    return user


async def session_user(session: AsyncSession, user_id: uuid.UUID, generation: int) -> User | None:
    """The user a browser session names, while active and unchanged since it signed in."""
    user = await session.get(User, user_id)
    if user is None or not user.active or user.token_generation != generation:
        return None
    return user


async def refresh(
    session: AsyncSession, settings: AuthSettings, secret: str, standing: DealerStanding
) -> schemas.TokenPair:
    """Rotate: spend this refresh token, issue the next; a spent token's reuse kills the family."""
    now = datetime.now(UTC)
    token = (
        await session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == hash_secret(secret))
        )
    ).scalar_one_or_none()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise Unauthorized(
            "refresh_invalid", "登录已失效，请重新登录", "Refresh token invalid or expired"
        )
    spent = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        await revoke_family(session, token.family_id, now)
        raise Unauthorized(
            "refresh_reused",
            "登录凭证被重复使用，请重新登录",
            "Refresh token reuse detected",
            keep_changes=True,
        )
    user = await session.get(User, token.user_id)
    if user is None:
        raise Unauthorized(
            "refresh_invalid", "登录已失效，请重新登录", "Refresh token invalid or expired"
        )
    await _assert_can_login(session, user, standing)
    return await issue_tokens(session, settings, user, family_id=token.family_id)


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def logout(session: AsyncSession, secret: str) -> None:
    """Revoke the refresh-token family this token belongs to (idempotent)."""
    token = (
        await session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == hash_secret(secret))
        )
    ).scalar_one_or_none()
    if token is not None:
        await revoke_family(session, token.family_id, datetime.now(UTC))


async def wechat_login(
    session: AsyncSession,
    settings: AuthSettings,
    wechat: WechatClient,
    code: str,
    standing: DealerStanding,
) -> schemas.WechatLoginResult:
    """code -> openid -> the bound user's tokens, or a binding token for an invitation."""
    wx = await wechat.code_to_session(code)
    user = (
        await session.execute(select(User).where(User.wechat_openid == wx.openid))
    ).scalar_one_or_none()
    if user is None:
        token = issue_purpose_token(settings, BINDING_PURPOSE, wx.openid, ttl_seconds=600)
        return schemas.WechatLoginResult(bound=False, binding_token=token)
    await _assert_can_login(session, user, standing)
    return schemas.WechatLoginResult(bound=True, tokens=await issue_tokens(session, settings, user))


async def wechat_bind(
    session: AsyncSession,
    settings: AuthSettings,
    body: schemas.WechatBindRequest,
    standing: DealerStanding,
) -> schemas.TokenPair:
    """Spend a one-time invitation to create the WeChat user's account and bind the openid."""
    openid = read_purpose_token(settings, body.binding_token, BINDING_PURPOSE)
    now = datetime.now(UTC)
    invitation = (
        await session.execute(
            select(Invitation).where(
                Invitation.code_hash == hash_secret(body.invitation_code.strip().upper())
            )
        )
    ).scalar_one_or_none()
    if invitation is None or invitation.expires_at <= now:
        raise Invalid(
            "invitation_invalid", "邀请码无效或已过期", "Invitation code invalid or expired"
        )
    existing = (
        await session.execute(select(User).where(User.wechat_openid == openid))
    ).scalar_one_or_none()
    if existing is not None:
        raise Invalid(
            "wechat_already_bound", "该微信已绑定账号", "This WeChat user is already bound"
        )
    user = User(
        id=uuid.uuid4(),
        display_name=body.display_name or invitation.display_name or "微信用户",
        role=invitation.role,
        dealer_id=invitation.dealer_id,
        wechat_openid=openid,
    )
    session.add(user)
    await flush_or_conflict(session, "wechat_already_bound")
    # Spend the invitation with a conditional update: two concurrent binds cannot both win
    # (the loser's transaction, user row included, rolls back).
    spent = await session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
        .values(used_at=now, used_by=user.id)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise Invalid("invitation_used", "邀请码已被使用", "Invitation code already used")
    await _assert_can_login(session, user, standing)
    record(
        session,
        principal_of(user),
        "user.bound_wechat",
        "user",
        user.id,
        {"invitation": str(invitation.id)},
    )
    return await issue_tokens(session, settings, user)


async def dev_login(
    session: AsyncSession, settings: AuthSettings, username: str, standing: DealerStanding
) -> schemas.TokenPair:
    user = (
        await session.execute(select(User).where(User.username == username))
    ).scalar_one_or_none()
    if user is None:
        raise NotFound("user_not_found", "用户不存在", "User not found")
    await _assert_can_login(session, user, standing)
    return await issue_tokens(session, settings, user)


def _new_invitation_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
    return "".join(secrets.choice(alphabet) for _ in range(10))


async def create_invitation(
    session: AsyncSession,
    settings: AuthSettings,
    actor: Principal,
    body: schemas.InvitationCreate,
    standing: DealerStanding,
) -> schemas.InvitationOut:
    await _check_role_dealer(session, standing, body.role, body.dealer_id)
    code = _new_invitation_code()
    ttl = body.ttl_hours * 3600 if body.ttl_hours else settings.invitation_ttl_seconds
    invitation = Invitation(
        id=uuid.uuid4(),
        code_hash=hash_secret(code),
        dealer_id=body.dealer_id,
        role=body.role,
        display_name=body.display_name,
        expires_at=datetime.now(UTC) + timedelta(seconds=ttl),
        created_by=actor.user_id,
    )
    session.add(invitation)
    await flush_or_conflict(session)
    record(
        session,
        actor,
        "invitation.created",
        "invitation",
        invitation.id,
        {"role": str(body.role), "dealer_id": str(body.dealer_id) if body.dealer_id else None},
    )
    return schemas.InvitationOut(
        id=invitation.id,
        code=code,
        role=invitation.role,
        dealer_id=invitation.dealer_id,
        expires_at=invitation.expires_at,
    )


async def _check_role_dealer(
    session: AsyncSession, standing: DealerStanding, role: Role, dealer_id: uuid.UUID | None
) -> None:
    if role in DEALER_ROLES:
        if dealer_id is None:
            raise Invalid(
                "dealer_required",
                "经销商角色必须指定经销商",
                "Dealer roles need a dealer",
                errors=[{"key": "dealerId", "message": "必填", "message_en": "required"}],
            )
        if await standing(session, dealer_id) is None:
            raise NotFound("dealer_not_found")
    elif dealer_id is not None:
        raise Invalid(
            "dealer_not_allowed",
            "该角色不能属于经销商",
            "This role cannot belong to a dealer",
            errors=[{"key": "dealerId", "message": "必须为空", "message_en": "must be empty"}],
        )


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    """The user, or ``user_not_found`` (404)."""
    return await get_or_404(session, User, user_id, "user")


async def wechat_recipients(
    session: AsyncSession, dealer_ids: Iterable[uuid.UUID], user_ids: Iterable[uuid.UUID]
) -> list[tuple[uuid.UUID, str]]:
    """(user id, openid) of active WeChat-bound users: those of ``dealer_ids``, and ``user_ids``."""
    dealers, users = list(set(dealer_ids)), list(set(user_ids))
    if not dealers and not users:
        return []
    query = (
        select(User.id, User.wechat_openid)
        .where(
            User.active.is_(True),
            User.wechat_openid.is_not(None),
            or_(User.dealer_id.in_(dealers), User.id.in_(users)),
        )
        .order_by(User.id)
    )
    return [(user_id, str(openid)) for user_id, openid in await session.execute(query)]


async def user_labels(
    session: AsyncSession, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    """Username and display name of each of these users (for pages that list many)."""
    ids = set(user_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(User.id, User.username, User.display_name).where(User.id.in_(ids))
    )
    return {r.id: (r.username or "", r.display_name) for r in rows}


async def user_id_by_username(session: AsyncSession, username: str) -> uuid.UUID | None:
    """The user signing in as ``username``, if any."""
    return (
        await session.execute(select(User.id).where(User.username == username.strip()))
    ).scalar_one_or_none()


def user_out(user: User) -> schemas.UserOut:
    return schemas.UserOut(
        id=user.id,
        display_name=user.display_name,
        role=user.role,
        username=user.username,
        dealer_id=user.dealer_id,
        phone=user.phone,
        active=user.active,
        wechat_bound=user.wechat_openid is not None,
        created_at=user.created_at,
    )


async def create_user(
    session: AsyncSession, actor: Principal, body: schemas.UserCreate, standing: DealerStanding
) -> User:
    await _check_role_dealer(session, standing, body.role, body.dealer_id)
    if (body.username is None) != (body.password is None):
        raise Invalid(
            "credentials_incomplete", "用户名和密码需同时提供", "Give both username and password"
        )
    if actor.role is not Role.HQ_ADMIN and body.role in (Role.HQ_ADMIN, Role.HQ_OPERATOR):
        raise Forbidden(
            "hq_admin_required",
            "只有总部管理员可以创建总部账号",
            "Only an HQ admin creates HQ users",
        )
    user = User(
        id=uuid.uuid4(),
        display_name=body.display_name,
        role=body.role,
        username=body.username.strip() if body.username else None,
        password_hash=hash_password(body.password) if body.password else None,
        dealer_id=body.dealer_id,
        phone=body.phone,
    )
    session.add(user)
    await flush_or_conflict(session, "username_taken")
    record(session, actor, "user.created", "user", user.id, {"role": str(body.role)})
    return user


async def update_user(
    session: AsyncSession, actor: Principal, user_id: uuid.UUID, body: schemas.UserUpdate
) -> User:
    user = await get_or_404(session, User, user_id, "user")
    changes: dict[str, object] = {}
    if body.display_name is not None:
        user.display_name = changes["display_name"] = body.display_name
    if body.phone is not None:
        user.phone = changes["phone"] = body.phone
    if body.password is not None:
        user.password_hash = hash_password(body.password)
        changes["password"] = "changed"
    if body.active is not None:
        user.active = changes["active"] = body.active
    if body.password is not None or body.active is False:
        # A password change or a disabled account ends every open session (browser sessions
        # compare the generation).
        user.token_generation += 1
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    record(session, actor, "user.updated", "user", user.id, changes)
    return user
