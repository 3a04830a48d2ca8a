"""Sign in, sign out and the language switch."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Response
from sqlalchemy.ext.asyncio import AsyncSession

from console.i18n import LANG_COOKIE, LANGS, pick_lang, translator
from console.params import QueryText
from console.render import page
from console.session import rotate_session, session_data
from server.errors import ChannelhubError
from server.identity import HQ_ROLES
from server.identity.service import authenticate
from server.text import one_line


class SignInForm(msgspec.Struct, kw_only=True):
    username: Annotated[str, one_line(64)] = ""
    password: Annotated[str, one_line(256)] = ""
    next: Annotated[str, one_line(512)] = ""


class LangForm(msgspec.Struct, kw_only=True):
    lang: Annotated[str, one_line(16)] = "zh-CN"
    next: Annotated[str, one_line(512)] = ""


Form = Body(media_type=RequestEncodingType.URL_ENCODED)


def safe_next(target: str) -> str:
    """Only a path inside the console (never another site) after signing in."""
    if target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console/"


@get("/login")
async def sign_in_page(
    request: Request[Any, Any, Any],
    next: QueryText = "",
    expired: FromQuery[bool] = False,
) -> Response[Any]:
    """The sign-in form (the console's entry when signed out)."""
    if request.scope.get("user") is not None:
        return Redirect(safe_next(next))
    t = translator(pick_lang(request.cookies.get(LANG_COOKIE)))
    return page(
        request,
        "login.html",
        next=safe_next(next),
        notice=t("session_expired") if expired else "",
        error="",
    )


@post("/login")
async def sign_in(
    request: Request[Any, Any, State],
    db_session: NamedDependency[AsyncSession],
    data: Annotated[SignInForm, Form],
) -> Response[Any]:
    """Check the credentials (throttled like the API's login) and open a session."""
    lang = pick_lang(request.cookies.get(LANG_COOKIE))
    t = translator(lang)
    address = request.client.host if request.client else "unknown"
    try:
        user = await authenticate(
            db_session,
            request.app.state.login_throttle,
            data.username,
            data.password,
            address,
            request.app.state.dealer_standing,
        )
    except ChannelhubError as exc:
        message = exc.zh if lang == "zh-CN" else exc.en
        return page(
            request,
            "login.html",
            status_code=exc.status,
            next=data.next,
            notice="",
            error=message,
            username=data.username,
        )
    if user.role not in HQ_ROLES:
        return page(
            request,
            "login.html",
            status_code=403,
            next=data.next,
            notice="",
            error=t("hq_only"),
            username=data.username,
        )
    await rotate_session(request)  # no session id from before the sign-in lives on
    request.set_session(
        {
            "uid": str(user.id),
            "gen": user.token_generation,
            "name": user.display_name,
            "role": str(user.role),
        }
    )
    return Redirect(safe_next(data.next), status_code=303)


@post("/logout")
async def sign_out(request: Request[Any, Any, Any]) -> Redirect:
    """End the session (the store forgets it and the cookie is cleared)."""
    session_data(request.scope).clear()
    request.clear_session()
    return Redirect("/console/login", status_code=303)


@post("/lang")
async def switch_language(data: Annotated[LangForm, Form]) -> Redirect:
    """Remember the chosen language in a cookie and go back to the page."""
    lang = data.lang if data.lang in LANGS else "zh-CN"
    return Redirect(
        safe_next(data.next),
        status_code=303,
        cookies=[
            Cookie(
                key=LANG_COOKIE,
                value=lang,
                path="/console",
                max_age=365 * 24 * 3600,
                samesite="lax",
                httponly=True,
            )
        ],
    )
