"""The access-token and subscription-message half of the fake WeChat server.

What it enforces, as WeChat does:

- ``GET /cgi-bin/token`` issues a new token and (like a second fetch on the real server, once
  its grace has passed) makes every earlier one invalid: two processes fetching in turn
  break each other, which is why the server fetches one at a time. ``POST
  /cgi-bin/stable_token`` answers the current token unless ``force_refresh``.
- ``POST /cgi-bin/message/subscribe/send``: unknown token 40001, expired token 42001, more
  than ``rate_limit`` sends in the current second 45009, a template it does not know 40037,
  a field that breaks its kind's rule or a missing/extra field 47003, no one-time
  authorization left for (openid, template) 43101 (each accepted send consumes one).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_HAN = re.compile(r"^[\u4e00-\u9fff]{1,5}$")
_DAY = r"\d{4}年\d{1,2}月\d{1,2}日"
_CLOCK = r"\d{1,2}:\d{2}"
RULES: dict[str, re.Pattern[str]] = {
    "number": re.compile(r"^(?=[\d.]{1,33}$)\d+(\.\d+)?$"),
    "amount": re.compile(r"^[¥$￥]?(?=(?:\D*\d){1,10}\D*$)\d+(\.\d{1,2})?元?$"),
    "date": re.compile(rf"^{_DAY}( {_CLOCK})?$|^\d{{4}}-\d{{2}}-\d{{2}}( {_CLOCK})?$"),
    "time": re.compile(rf"^({_DAY} )?{_CLOCK}$"),
    "character_string": re.compile(r"^[!-~]{1,32}$"),
}


def field_ok(key: str, value: object) -> bool:
    """Whether WeChat would take ``value`` for the template field ``key``."""
    kind = re.sub(r"\d+$", "", key)
    if not isinstance(value, str) or not value:
        return False
    if kind == "thing":
        return len(value) <= 20
    if kind == "phrase":
        return bool(_HAN.match(value))
    rule = RULES.get(kind)
    return bool(rule and rule.match(value))


@dataclass
class Sent:
    openid: str
    template_id: str
    data: dict[str, str]
    page: str
    msgid: int


@dataclass
class SubscribeState:
    """What the fake knows: tokens, templates, authorizations, and every message it took."""

    appid: str
    secret: str
    token_ttl: float = 7200.0
    rate_limit: int | None = None
    send_delay: float = 0.0
    templates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    quotas: Counter[tuple[str, str]] = field(default_factory=Counter)
    sent: list[Sent] = field(default_factory=list)
    refused: Counter[int] = field(default_factory=Counter)
    token_fetches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _tokens: dict[str, float] = field(default_factory=dict)
    _second: tuple[int, int] = (0, 0)

    def grant(self, openid: str, template_id: str, count: int = 1) -> None:
        """The user accepted ``template_id`` ``count`` times in ``wx.requestSubscribeMessage``."""
        with self.lock:
            self.quotas[(openid, template_id)] += count

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (42001 on its next use)."""
        with self.lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def reset(self) -> None:
        with self.lock:
            self.templates.clear()
            self.quotas.clear()
            self.sent.clear()
            self.refused.clear()
            self._tokens.clear()
            self.token_fetches, self.rate_limit, self.send_delay = 0, None, 0.0
            self.token_ttl = 7200.0

    def issue_token(self, query: dict[str, Any], *, stable: bool = False) -> dict[str, Any]:
        if query.get("appid") != self.appid or query.get("secret") != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        if query.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        with self.lock:
            now = time.monotonic()
            if stable and not query.get("force_refresh"):
                for token, until in self._tokens.items():
                    if until > now:
                        return {"access_token": token, "expires_in": int(until - now)}
            self.token_fetches += 1
            token = secrets.token_urlsafe(24)
            self._tokens = {token: now + self.token_ttl}
            return {"access_token": token, "expires_in": int(self.token_ttl)}

    def send(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.send_delay:
            time.sleep(self.send_delay)
        with self.lock:
            errcode = self._check(token, body)
            if errcode:
                self.refused[errcode] += 1
                return {"errcode": errcode, "errmsg": f"refused {errcode}"}
            openid, template_id = body["touser"], body["template_id"]
            self.quotas[(openid, template_id)] -= 1
            data = {k: v["value"] for k, v in body["data"].items()}
            msgid = len(self.sent) + 1
            self.sent.append(Sent(openid, template_id, data, body.get("page", ""), msgid))
            return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def _check(self, token: str, body: dict[str, Any]) -> int:
        until = self._tokens.get(token)
        if until is None:
            return 40001
        if until <= time.monotonic():
            return 42001
        second = int(time.monotonic())
        count = self._second[1] + 1 if self._second[0] == second else 1
        self._second = (second, count)
        if self.rate_limit is not None and count > self.rate_limit:
            return 45009
        keys = self.templates.get(str(body.get("template_id")))
        if keys is None:
            return 40037
        data = body.get("data")
        if not isinstance(data, dict) or set(data) != set(keys):
            return 47003
        for key, value in data.items():
            if not isinstance(value, dict) or not field_ok(key, value.get("value")):
                return 47003
        if self.quotas[(str(body.get("touser")), str(body["template_id"]))] <= 0:
            return 43101
        return 0
