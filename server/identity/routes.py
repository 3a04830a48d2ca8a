"""Password login and token rotation for HQ and app users; HQ user and invitation admin."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Request, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import get_or_404, keyset_page
from server.identity import schemas, service
from server.identity.guards import requires_hq, requires_login
from server.identity.models import Role, User
from server.identity.principal import Principal
from server.schemas import Page
from server.text import LINE_RULE

Limit = Annotated[int, QueryParameter(ge=1, le=500)]


def client_address(request: Request[object, object, State]) -> str:
    return request.client.host if request.client else "unknown"


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post("/login", summary="Log in with username and password", opt={"problems": (401, 429)})
    async def login(
        self,
        request: Request[object, object, State],
        db_session: NamedDependency[AsyncSession],
        state: State,
        data: JSONBody[schemas.LoginRequest],
    ) -> schemas.TokenPair:
        """Exchange credentials for an access token and a rotating refresh token."""
        return await service.login(
            db_session,
            state.settings.auth,
            state.login_throttle,
            data,
            client_address(request),
            state.dealer_standing,
        )

    @post("/refresh", summary="Rotate a refresh token", opt={"problems": (401,)})
    async def refresh(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        data: JSONBody[schemas.RefreshRequest],
    ) -> schemas.TokenPair:
        """Spend a refresh token for a new pair; replaying a spent one revokes its family."""
        return await service.refresh(
            db_session, state.settings.auth, data.refresh_token, state.dealer_standing
        )

    @post("/logout", summary="Revoke a refresh token", status_code=204)
    async def logout(
        self, db_session: NamedDependency[AsyncSession], data: JSONBody[schemas.RefreshRequest]
    ) -> None:
        """Revoke the refresh token's whole family (all devices of this login)."""
        await service.logout(db_session, data.refresh_token)

    @get("/me", summary="Who am I", guards=[requires_login])
    async def me(
        self, db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> schemas.UserOut:
        """The logged-in user."""
        return service.user_out(await get_or_404(db_session, User, principal.user_id, "user"))


class UserController(Controller):
    path = "/hq/users"
    tags = ["hq: users"]
    guards = [requires_hq]

    @post("/", summary="Create a user")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        principal: NamedDependency[Principal],
        data: JSONBody[schemas.UserCreate],
    ) -> schemas.UserOut:
        """Create an HQ, rep or dealer user (password login optional)."""
        user = await service.create_user(db_session, principal, data, state.dealer_standing)
        return service.user_out(user)

    @get("/", summary="List users")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        limit: Limit = 100,
        role: FromQuery[Role | None] = None,
        dealer_id: Annotated[uuid.UUID | None, QueryParameter(name="dealerId")] = None,
        cursor: Annotated[str | None, Parameter(max_length=256, pattern=LINE_RULE)] = None,
    ) -> Page[schemas.UserOut]:
        """Users ordered by id, filtered by role or dealer."""
        stmt = select(User)
        if role is not None:
            stmt = stmt.where(User.role == role)
        if dealer_id is not None:
            stmt = stmt.where(User.dealer_id == dealer_id)
        rows, next_cursor = await keyset_page(db_session, stmt, User.id, cursor, limit)
        return Page(items=[service.user_out(u) for u in rows], next_cursor=next_cursor)

    @get("/{user_id:uuid}", summary="Get a user")
    async def detail(
        self, db_session: NamedDependency[AsyncSession], user_id: FromPath[uuid.UUID]
    ) -> schemas.UserOut:
        """One user."""
        return service.user_out(await get_or_404(db_session, User, user_id, "user"))

    @put("/{user_id:uuid}", summary="Update a user")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[schemas.UserUpdate],
    ) -> schemas.UserOut:
        """Rename, reset the password or disable; the last two end open sessions."""
        return service.user_out(await service.update_user(db_session, principal, user_id, data))


class InvitationController(Controller):
    path = "/hq/invitations"
    tags = ["hq: users"]
    guards = [requires_hq]

    @post("/", summary="Issue a one-time invitation code")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        principal: NamedDependency[Principal],
        data: JSONBody[schemas.InvitationCreate],
    ) -> schemas.InvitationOut:
        """A code a WeChat user enters once to bind to a dealer (or rep) account."""
        return await service.create_invitation(
            db_session, state.settings.auth, principal, data, state.dealer_standing
        )
