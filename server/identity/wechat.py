"""WeChat mini-program login: ``code2Session`` at a configurable base URL."""

from __future__ import annotations

import httpx
import msgspec

from server.errors import Forbidden, TooManyRequests, Unauthorized, Unavailable, UpstreamError
from server.settings import WechatSettings


class WechatSession(msgspec.Struct, frozen=True):
    openid: str
    session_key: str = ""
    unionid: str | None = None


class _Answer(msgspec.Struct):
    openid: str | None = None
    session_key: str | None = None
    unionid: str | None = None
    errcode: int = 0
    errmsg: str = ""


class WechatClient:
    def __init__(self, settings: WechatSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http

    async def code_to_session(self, code: str) -> WechatSession:
        """Exchange a ``wx.login`` code for the user's openid, mapping WeChat's error codes."""
        try:
            response = await self.http.get(
                f"{self.settings.base_url.rstrip('/')}/sns/jscode2session",
                params={
                    "appid": self.settings.appid,
                    "secret": self.settings.secret,
                    "js_code": code,
                    "grant_type": "authorization_code",
                },
                timeout=self.settings.timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise Unavailable(
                "wechat_unreachable", "微信服务暂时无法访问", "WeChat is unreachable"
            ) from exc
        if response.status_code >= 500:
            raise Unavailable("wechat_unavailable", "微信服务暂时不可用", "WeChat is unavailable")
        try:
            answer = msgspec.json.decode(response.content, type=_Answer)
        except msgspec.DecodeError as exc:
            raise UpstreamError(
                "wechat_bad_answer", "微信返回了无法识别的数据", "WeChat answered garbage"
            ) from exc
        if answer.errcode == 0 and answer.openid:
            return WechatSession(answer.openid, answer.session_key or "", answer.unionid)
        raise _wechat_error(answer.errcode)


def _wechat_error(errcode: int) -> Exception:
    if errcode in (40029, 40163):
        return Unauthorized(
            "wechat_code_invalid", "微信登录凭证无效或已使用", "WeChat login code invalid or used"
        )
    if errcode == 45011:
        return TooManyRequests(
            "wechat_rate_limited", "微信登录过于频繁", "WeChat login rate limited"
        )
    if errcode == 40226:
        return Forbidden(
            "wechat_user_blocked", "微信判定该用户存在风险", "WeChat flagged this user as high-risk"
        )
    if errcode == -1:
        return Unavailable("wechat_busy", "微信系统繁忙，请稍后重试", "WeChat is busy, retry later")
    return UpstreamError(
        "wechat_error",
        f"微信登录失败（{errcode}）",
        f"WeChat login failed ({errcode})",
        wechatErrcode=errcode,
    )
