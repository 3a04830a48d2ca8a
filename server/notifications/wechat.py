"""WeChat's access token and ``subscribeMessage.send``, at the configured base URL.

The access token is shared by every process: ``cgi-bin/token`` makes earlier tokens invalid,
so processes fetching on their own would knock each other's token out. One fetch at a time:

- with Redis: the token lives under one key; a process that finds it missing, near expiry or
  known bad takes a Redis lock, looks again (another may have just fetched) and only then
  fetches. A Redis that fails falls back to the database path.
- without Redis (the embedded default, and the fallback): the token lives in the one row of
  ``wechat_access_tokens``; the refresh happens under that row's lock (``FOR UPDATE`` on
  PostgreSQL, SQLite's single writer otherwise), with the same look-again.

Each process also keeps the token in memory until it nears expiry. A token is refreshed
``REFRESH_MARGIN`` before it expires, and at once when WeChat calls it bad (40001, 42001):
``refresh(stale)`` replaces it only if the shared one is still ``stale``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import structlog
from sqlalchemy import select

from server.db.dialect import insert_ignoring_duplicates, is_postgresql
from server.db.engine import Database
from server.db.session import transaction
from server.notifications.models import WechatAccessToken
from server.settings import WechatSettings

log = structlog.get_logger("channelhub.notifications")
REFRESH_MARGIN = timedelta(minutes=5)
TOKEN_KEY = "channelhub:wechat:access-token"
LOCK_KEY = "channelhub:wechat:access-token-lock"
BAD_TOKEN = frozenset({40001, 42001})


class NotSent(Exception):
    """WeChat certainly did not take the message (unreachable, 5xx): safe to try again."""


class OutcomeUnknown(Exception):
    """The request may have reached WeChat (a timeout after sending): never try again."""


class SendAnswer(msgspec.Struct, frozen=True):
    errcode: int = 0
    errmsg: str = ""
    msgid: int | None = None


class _TokenAnswer(msgspec.Struct):
    access_token: str = ""
    expires_in: int = 0
    errcode: int = 0
    errmsg: str = ""


class Token(msgspec.Struct, frozen=True):
    value: str
    expires_at: datetime
    fetched_at: datetime

    def fresh(self, now: datetime) -> bool:
        """Usable and not yet due for refresh (a fifth of its life, at most 5 min, early)."""
        margin = min(REFRESH_MARGIN, (self.expires_at - self.fetched_at) / 5)
        return bool(self.value) and now < self.expires_at - margin


class TokenSource:
    """The shared access token: memory, then Redis (if any), then the database row."""

    def __init__(
        self,
        settings: WechatSettings,
        http: httpx.AsyncClient,
        database: Database,
        redis: Any = None,
    ) -> None:
        self.settings = settings
        self.http = http
        self.database = database
        self.redis = redis
        self.fetches = 0
        self._memory: Token | None = None

    async def token(self) -> str:
        """A valid access token (fetched only when the shared one is missing or near expiry)."""
        now = datetime.now(UTC)
        if self._memory is not None and self._memory.fresh(now):
            return self._memory.value
        return await self.refresh(stale=None)

    async def refresh(self, stale: str | None) -> str:
        """The shared token, fetched anew if it is missing, near expiry, or still ``stale``."""
        self._memory = None
        token: Token | None = None
        if self.redis is not None:
            try:
                token = await self._through_redis(stale)
            except Exception as exc:  # Redis failing must not stop messages: the row still works
                log.warning("wechat_token_redis_failed", error=repr(exc))
        if token is None:
            token = await self._through_database(stale)
        self._memory = token
        return token.value

    def _usable(self, token: Token | None, stale: str | None) -> bool:
        return token is not None and token.value != stale and token.fresh(datetime.now(UTC))

    async def _through_redis(self, stale: str | None) -> Token:
        cached = _decode(await self.redis.get(TOKEN_KEY))
        if self._usable(cached, stale):
            assert cached is not None
            return cached
        async with self.redis.lock(LOCK_KEY, timeout=30, blocking_timeout=30):
            cached = _decode(await self.redis.get(TOKEN_KEY))
            if self._usable(cached, stale):
                assert cached is not None
                return cached
            token = await self._fetch()
            ttl = max(1, int((token.expires_at - datetime.now(UTC)).total_seconds()))
            await self.redis.set(TOKEN_KEY, _encode(token), ex=ttl)
            return token

    async def _through_database(self, stale: str | None) -> Token:
        async with transaction(self.database) as session:
            await session.execute(
                insert_ignoring_duplicates(session, WechatAccessToken, [{"id": 1, "token": ""}])
            )
            query = select(WechatAccessToken).where(WechatAccessToken.id == 1)
            if is_postgresql(session):
                query = query.with_for_update()
            row = (await session.execute(query)).scalar_one()
            stored = None
            if row.expires_at and row.fetched_at:
                stored = Token(row.token, row.expires_at, row.fetched_at)
            if self._usable(stored, stale):
                assert stored is not None
                return stored
            token = await self._fetch()
            row.token, row.expires_at, row.fetched_at = (
                token.value,
                token.expires_at,
                token.fetched_at,
            )
            return token

    async def _fetch(self) -> Token:
        self.fetches += 1
        try:
            response = await self.http.get(
                f"{self.settings.base_url.rstrip('/')}/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self.settings.appid,
                    "secret": self.settings.secret,
                },
                timeout=self.settings.timeout_seconds,
            )
            answer = msgspec.json.decode(response.content, type=_TokenAnswer)
        except (httpx.HTTPError, msgspec.DecodeError) as exc:
            raise NotSent(f"access token: {exc!r}") from exc
        if answer.errcode or not answer.access_token:
            raise NotSent(f"access token refused: {answer.errcode} {answer.errmsg}")
        log.info("wechat_token_fetched", expires_in=answer.expires_in)
        now = datetime.now(UTC)
        return Token(answer.access_token, now + timedelta(seconds=answer.expires_in), now)


def _encode(token: Token) -> str:
    return msgspec.json.encode(token).decode()


def _decode(raw: bytes | str | None) -> Token | None:
    if not raw:
        return None
    try:
        return msgspec.json.decode(raw, type=Token)
    except msgspec.DecodeError:
        return None


class SubscribeSender:
    """``subscribeMessage.send`` with the shared token; a bad token is refreshed once."""

    def __init__(self, tokens: TokenSource) -> None:
        self.tokens = tokens

    async def send(self, message: dict[str, Any]) -> SendAnswer:
        """Send one message; WeChat's answer, or NotSent / OutcomeUnknown."""
        token = await self.tokens.token()
        answer = await self._post(token, message)
        if answer.errcode in BAD_TOKEN:
            token = await self.tokens.refresh(stale=token)
            answer = await self._post(token, message)
        return answer

    async def _post(self, token: str, message: dict[str, Any]) -> SendAnswer:
        settings = self.tokens.settings
        try:
            response = await self.tokens.http.post(
                f"{settings.base_url.rstrip('/')}/cgi-bin/message/subscribe/send",
                params={"access_token": token},
                content=json.dumps(message, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json"},
                timeout=settings.timeout_seconds,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise NotSent(repr(exc)) from exc
        except httpx.HTTPError as exc:
            raise OutcomeUnknown(repr(exc)) from exc
        if response.status_code >= 500:
            raise NotSent(f"HTTP {response.status_code}")
        try:
            return msgspec.json.decode(response.content, type=SendAnswer)
        except msgspec.DecodeError as exc:
            raise OutcomeUnknown(f"unreadable answer: {response.content[:100]!r}") from exc


class WechatMessaging:
    """The process's sender, built on first use inside the running loop; closed at shutdown."""

    def __init__(self, settings: WechatSettings, database: Database, redis_url: str | None) -> None:
        self.settings = settings
        self.database = database
        self.redis_url = redis_url
        self._sender: SubscribeSender | None = None

    def sender(self) -> SubscribeSender:
        """The shared sender (one HTTP client, one Redis connection, one token cache)."""
        if self._sender is None:
            redis = None
            if self.redis_url:
                from redis.asyncio import Redis

                redis = Redis.from_url(
                    self.redis_url, socket_connect_timeout=1.0, socket_timeout=2.0
                )
            http = httpx.AsyncClient()
            self._sender = SubscribeSender(TokenSource(self.settings, http, self.database, redis))
        return self._sender

    async def aclose(self) -> None:
        """Close the HTTP client and the Redis connection, if they were opened."""
        if self._sender is not None:
            tokens = self._sender.tokens
            await tokens.http.aclose()
            if tokens.redis is not None:
                await tokens.redis.aclose()
            self._sender = None
