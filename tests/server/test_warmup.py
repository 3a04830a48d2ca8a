"""The server answers /health at once and tells the truth on /ready while the app loads."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
from litestar import Litestar, get

from server.warmup import WarmingApp


@get("/ready", sync_to_thread=False)
def inner_ready() -> dict[str, str]:
    return {"status": "ok"}


@get("/hello", sync_to_thread=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


class Lifespan:
    """Drives an ASGI app's lifespan as a server does."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[Any] | None = None

    async def start(self) -> dict[str, Any]:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.create_task(self.app(scope, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        return await asyncio.wait_for(self.outbox.get(), 5)

    async def stop(self) -> dict[str, Any]:
        await self.inbox.put({"type": "lifespan.shutdown"})
        answer = await asyncio.wait_for(self.outbox.get(), 5)
        assert self.task is not None
        await self.task
        return answer


async def test_health_answers_while_the_app_loads_then_everything_is_served() -> None:
    release = threading.Event()
    started: list[str] = []

    async def on_startup() -> None:
        started.append("inner")

    def build() -> Litestar:
        assert release.wait(10)
        return Litestar([inner_ready, hello], on_startup=[on_startup])

    warming = WarmingApp(build)
    lifespan = Lifespan(warming)
    assert (await lifespan.start())["type"] == "lifespan.startup.complete"
    transport = httpx.ASGITransport(app=warming)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        health = await client.get("/health")
        assert (health.status_code, health.json()["status"]) == (200, "starting")
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"app": "starting"}
        other = await client.get("/hello", headers={"Accept-Language": "en"})
        assert other.status_code == 503
        assert other.headers["content-type"] == "application/problem+json"
        assert other.headers["retry-after"] == "2"
        assert other.json()["code"] == "starting"
        assert other.json()["title"] == "The server is starting, retry shortly"
        chinese = await client.get("/hello")
        assert chinese.json()["title"] == "服务正在启动，请稍后重试"
        release.set()
        for _ in range(200):
            if warming.app is not None:
                break
            await asyncio.sleep(0.01)
        assert started == ["inner"]
        assert (await client.get("/ready")).json() == {"status": "ok"}
        assert (await client.get("/hello")).json() == {"hello": "world"}
    assert (await lifespan.stop())["type"] == "lifespan.shutdown.complete"


async def test_a_failed_start_turns_health_red() -> None:
    def build() -> Litestar:
        raise RuntimeError("no database driver")

    warming = WarmingApp(build)
    lifespan = Lifespan(warming)
    await lifespan.start()
    transport = httpx.ASGITransport(app=warming)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for _ in range(200):
            if warming.failed:
                break
            await asyncio.sleep(0.01)
        health = await client.get("/health")
        assert (health.status_code, health.json()["status"]) == (503, "failed")
        assert (await client.get("/ready")).json()["checks"] == {"app": "failed"}
    await lifespan.stop()
