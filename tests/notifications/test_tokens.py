"""The access token is shared: several processes asking at once cause one fetch, and a token
WeChat calls bad is replaced once, whichever process noticed."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from redis.asyncio import Redis

from server.db.engine import Database
from server.notifications.wechat import LOCK_KEY, TOKEN_KEY, TokenSource
from server.settings import Settings
from tests.fakes.wechat_subscribe import SubscribeState

PROCESSES = 6


async def _sources(settings: Settings, redis_url: str | None) -> list[tuple[TokenSource, Database]]:
    """Independent token sources, each with its own connections, as separate processes have."""
    made = []
    for _ in range(PROCESSES):
        database = Database(settings.database)
        redis = Redis.from_url(redis_url) if redis_url else None
        made.append((TokenSource(settings.wechat, httpx.AsyncClient(), database, redis), database))
    return made


async def _close(sources: list[tuple[TokenSource, Database]]) -> None:
    for source, database in sources:
        await source.http.aclose()
        if source.redis is not None:
            await source.redis.aclose()
        await database.dispose()


async def _race(sources: list[tuple[TokenSource, Database]]) -> list[str]:
    return list(await asyncio.gather(*(s.token() for s, _ in sources)))


async def test_processes_share_one_token_through_the_database(
    settings: Settings, wechat: SubscribeState
) -> None:
    sources = await _sources(settings, None)
    try:
        tokens = await _race(sources)
        assert len(set(tokens)) == 1 and wechat.token_fetches == 1
        # One of them hears 40001 for it: one refresh, and the others follow the new token.
        stale = tokens[0]
        fresh = await asyncio.gather(*(s.refresh(stale=stale) for s, _ in sources))
        assert len(set(fresh)) == 1 and fresh[0] != stale and wechat.token_fetches == 2
    finally:
        await _close(sources)


@pytest.fixture
async def clean_redis(redis_url: str) -> str:
    client = Redis.from_url(redis_url)
    await client.delete(TOKEN_KEY, LOCK_KEY)
    await client.aclose()
    return redis_url


async def test_processes_share_one_token_through_redis(
    settings: Settings, wechat: SubscribeState, clean_redis: str
) -> None:
    sources = await _sources(settings, clean_redis)
    try:
        tokens = await _race(sources)
        assert len(set(tokens)) == 1 and wechat.token_fetches == 1
        stale = tokens[0]
        fresh = await asyncio.gather(*(s.refresh(stale=stale) for s, _ in sources))
        assert len(set(fresh)) == 1 and fresh[0] != stale and wechat.token_fetches == 2
    finally:
        await _close(sources)


async def test_a_token_near_expiry_is_refreshed_before_it_expires(
    settings: Settings, wechat: SubscribeState
) -> None:
    wechat.token_ttl = 1.0  # refreshed a fifth of its life early
    sources = await _sources(settings, None)
    try:
        source = sources[0][0]
        first = await source.token()
        assert await source.token() == first and wechat.token_fetches == 1
        await asyncio.sleep(0.85)
        assert await source.token() != first and wechat.token_fetches == 2
    finally:
        await _close(sources)


async def test_redis_down_falls_back_to_the_database(
    settings: Settings, wechat: SubscribeState
) -> None:
    database = Database(settings.database)
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    source = TokenSource(settings.wechat, httpx.AsyncClient(), database, dead)
    try:
        assert await source.token() and wechat.token_fetches == 1
    finally:
        await _close([(source, database)])
