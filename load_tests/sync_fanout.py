"""Poke fan-out benchmark: N WebSocket clients, p50/p99 from publish request to poke received.

    .venv/bin/python -m load_tests.sync_fanout --clients 2000 --rounds 20

Starts a server process (uvicorn, uvloop, httptools, per-message deflate off, SQLite) with
the sync router and a tiny HQ publish route, opens N WebSocket clients in this process,
then publishes one price change per round and times each client's poke.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
from litestar import Litestar, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from litestar.types import Scope
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from sync import (
    Hub,
    MutationRegistry,
    SyncPrincipal,
    SyncSettings,
    create_sync_router,
    discard_pokes,
    metadata,
    publish,
)

SCOPE = "price:east"


def create_app() -> Litestar:
    """The benchmark server: sync router plus ``POST /bench/publish``."""
    engine = create_async_engine(os.environ["BENCH_DB_URL"])
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    settings = SyncSettings(redis_url=os.environ.get("BENCH_REDIS_URL") or None)
    hub = Hub.from_settings(settings)

    async def provide_db_session() -> AsyncIterator[AsyncSession]:
        async with sessions() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                discard_pokes(session)
                raise
            else:
                await session.commit()
                await hub.flush_pokes(session)

    def provide_principal(scope: Scope) -> SyncPrincipal:
        del scope
        return SyncPrincipal(
            subject_id="bench", dealer_id=None, scopes=frozenset({SCOPE}), client_id=None
        )

    @post("/bench/publish", status_code=200)
    async def publish_price(db_session: NamedDependency[AsyncSession], fen: FromQuery[int]) -> int:
        return await publish(db_session, SCOPE, "price", "sku-1", "upsert", {"fen": fen})

    async def create_tables() -> None:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        gc.freeze()

    return Litestar(
        route_handlers=[create_sync_router(hub, MutationRegistry(), settings), publish_price],
        dependencies={
            "db_session": Provide(provide_db_session),
            "sync_principal": Provide(provide_principal, sync_to_thread=False),
        },
        on_startup=[create_tables, hub.start],
        on_shutdown=[hub.stop],
    )


class _Round:
    """Counts connections that got this round's poke."""

    def __init__(self) -> None:
        self.expected = 0
        self.count = 0
        self.done = asyncio.Event()

    def arrived(self) -> None:
        self.count += 1
        if self.count >= self.expected:
            self.done.set()


class _PokeCounter(asyncio.Protocol):
    """A minimal WebSocket client after the handshake: stamps the arrival of each poke.

    The websockets library costs ~100 us of client CPU per message, which at 2,000
    connections on the same box would measure the load generator, not the server.
    """

    def __init__(self, handshake: bytes, ready: asyncio.Future[None], round_: _Round) -> None:
        self.handshake = handshake
        self.ready = ready
        self.round = round_
        self.upgraded = False
        self.buffer = b""
        self.arrivals: list[float] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(self.handshake)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            assert head.startswith(b"HTTP/1.1 101"), head
            self.upgraded, self.buffer = True, rest
        while len(self.buffer) >= 2:
            length = self.buffer[1] & 0x7F
            offset = 2
            if length == 126:
                if len(self.buffer) < 4:
                    return
                length, offset = int.from_bytes(self.buffer[2:4]), 4
            if len(self.buffer) < offset + length:
                return
            payload = self.buffer[offset : offset + length]
            self.buffer = self.buffer[offset + length :]
            if b'"hello"' in payload and not self.ready.done():
                self.ready.set_result(None)
            elif b'"poke"' in payload:
                self.arrivals.append(time.perf_counter())
                if len(self.arrivals) == 1:
                    self.round.arrived()


async def run(clients: int, rounds: int, port: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    handshake = (
        f"GET /sync/ws?token=x&protocol=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    counters: list[_PokeCounter] = []
    current = _Round()
    transports: list[asyncio.BaseTransport] = []
    for start in range(0, clients, 200):
        readies: list[asyncio.Future[None]] = []
        for _ in range(start, min(clients, start + 200)):
            ready: asyncio.Future[None] = loop.create_future()
            transport, counter = await loop.create_connection(
                lambda ready=ready: _PokeCounter(handshake, ready, current), "127.0.0.1", port
            )
            counters.append(counter)
            transports.append(transport)
            readies.append(ready)
        await asyncio.wait_for(asyncio.gather(*readies), 60)
    latencies: list[float] = []
    request_ms: list[float] = []
    round_max_ms: list[float] = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        for round_no in range(rounds):
            for counter in counters:
                counter.arrivals.clear()
            current.expected, current.count = len(counters), 0
            current.done.clear()
            started = time.perf_counter()
            response = await http.post("/bench/publish", params={"fen": round_no})
            request_ms.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            await asyncio.wait_for(current.done.wait(), 30)
            this_round = [c.arrivals[0] - started for c in counters]
            round_max_ms.append(round(max(this_round) * 1000, 1))
            latencies.extend(this_round)
            await asyncio.sleep(0.2)
    for transport in transports:
        transport.close()
    latencies.sort()
    return {
        "clients": clients,
        "rounds": rounds,
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "publish_request_median_ms": round(statistics.median(request_ms), 1),
        "round_max_ms": round_max_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "BENCH_DB_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
            "BENCH_REDIS_URL": args.redis_url,
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "load_tests.sync_fanout:create_app",
                "--factory",
                "--port",
                str(args.port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--ws-per-message-deflate",
                "false",
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
        )
        try:
            for _ in range(100):
                if server.poll() is not None:
                    raise SystemExit("server did not start")
                try:
                    httpx.post(f"http://127.0.0.1:{args.port}/sync/ack", timeout=0.2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            print(
                msgspec.json.encode(asyncio.run(run(args.clients, args.rounds, args.port))).decode()
            )
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
