"""Mini-program login: WeChat ``code`` -> openid -> tokens, or bind with an invitation."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from server.dealers import dealer_out, dealer_standing, get_dealer
from server.dealers.schemas import DealerOut
from server.identity import get_user, schemas, service
from server.identity.guards import requires_login
from server.identity.principal import Principal
from server.schemas import Response


class MeOut(Response, kw_only=True):
    user: schemas.UserOut
    dealer: DealerOut | None = None


class WechatAuthController(Controller):
    path = "/mp/auth"
    tags = ["mini-program: auth"]

    @post(
        "/wechat/login",
        summary="Log in with a wx.login code",
        opt={
            "problems": (
                401,
                403,
                429,
                502,
            )
        },
    )
    async def wechat_login(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        data: JSONBody[schemas.WechatLoginRequest],
    ) -> schemas.WechatLoginResult:
        """Bound users get tokens; new users get a binding token for /mp/auth/wechat/bind."""
        return await service.wechat_login(
            db_session, state.settings.auth, state.wechat, data.code, dealer_standing
        )

    @post(
        "/wechat/bind",
        summary="Bind a WeChat user with an invitation code",
        opt={
            "problems": (
                401,
                403,
                429,
                502,
            )
        },
    )
    async def wechat_bind(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        data: JSONBody[schemas.WechatBindRequest],
    ) -> schemas.TokenPair:
        """Spend a one-time invitation code from HQ and log in."""
        return await service.wechat_bind(db_session, state.settings.auth, data, dealer_standing)


class DevAuthController(Controller):
    """Only mounted when dev mode is on."""

    path = "/mp/auth"
    tags = ["mini-program: auth"]

    @post("/dev-login", summary="Log in as any user (dev mode only)")
    async def dev_login(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        data: JSONBody[schemas.DevLoginRequest],
    ) -> schemas.TokenPair:
        """Tokens for a username without password or WeChat; exists only in dev mode."""
        return await service.dev_login(
            db_session, state.settings.auth, data.username, dealer_standing
        )


class MeController(Controller):
    path = "/mp/me"
    tags = ["mini-program: me"]
    guards = [requires_login]

    @get("/", summary="My account and dealer")
    async def me(
        self, db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> MeOut:
        """The logged-in user and, for dealer users, their dealer."""
        user = await get_user(db_session, principal.user_id)
        dealer = await get_dealer(db_session, principal.dealer_id) if principal.dealer_id else None
        return MeOut(user=service.user_out(user), dealer=dealer_out(dealer) if dealer else None)
