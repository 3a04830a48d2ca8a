"""Poke fan-out benchmark on the real server: N dealer WebSockets, HQ publishes price lists.

    .venv/bin/python -m load_tests.sync_fanout --clients 2000 --rounds 20 --json
    .venv/bin/python -m load_tests.sync_fanout --clients 10000 --rounds 10 --json
    .venv/bin/python -m load_tests.sync_fanout --clients 2000 \
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/channelhub_bench_sync \
        --redis-url redis://127.0.0.1:6379/14

Starts ``channelhub serve`` (migrated, demo data; SQLite unless --database-url, in-process
fan-out unless --redis-url), logs the twelve demo dealers in and opens N WebSocket clients
on loopback spread over their tokens (every dealer subscribes to ``price:default``), then
each round HQ publishes a new version of a default price list through the HQ API and the
bench times, per client, from the start of the publish request to the poke's arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import statistics
import time
from typing import Any

import httpx
import msgspec

from load_tests.server_process import login, running_server

BENCH_LIST = "BENCH-FANOUT"


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
        self.transport = transport
        transport.write(self.handshake)

    def _pong(self, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)

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
            opcode = self.buffer[0] & 0x0F
            payload = self.buffer[offset : offset + length]
            self.buffer = self.buffer[offset + length :]
            if opcode == 0x9:  # ping: answer like a real client, or the server hangs up
                self._pong(payload)
                continue
            if b'"hello"' in payload and not self.ready.done():
                self.ready.set_result(None)
            elif b'"poke"' in payload:
                self.arrivals.append(time.perf_counter())
                if len(self.arrivals) == 1:
                    self.round.arrived()


async def _setup(http: httpx.AsyncClient) -> tuple[str, list[str]]:
    """HQ token, the dealer tokens, and a published default price list to change per round."""

    hq = await login(http, "hq")
    dealers = [await login(http, f"dealer{n:02d}") for n in range(1, 13)]
    headers = {"Authorization": f"Bearer {hq}"}
    items = [{"sku": f"SKU{n:05d}", "unitPrice": 1000 + n} for n in range(1, 6)]
    created = await http.post(
        "/hq/price-lists",
        headers=headers,
        json={
            "code": BENCH_LIST,
            "name": "fan-out bench",
            "scope": "default",
            "priority": -100,
            "items": items,
        },
    )
    created.raise_for_status()
    (
        await http.post(f"/hq/price-lists/{created.json()['id']}/publish", headers=headers)
    ).raise_for_status()
    return hq, dealers


async def _new_draft(http: httpx.AsyncClient, hq: str, round_no: int) -> str:
    headers = {"Authorization": f"Bearer {hq}"}
    draft = await http.post(f"/hq/price-lists/by-code/{BENCH_LIST}/versions", headers=headers)
    draft.raise_for_status()
    draft_id = str(draft.json()["id"])
    items = [{"sku": f"SKU{n:05d}", "unitPrice": 1000 + n + round_no} for n in range(1, 6)]
    (
        await http.put(f"/hq/price-lists/{draft_id}/items", headers=headers, json={"items": items})
    ).raise_for_status()
    return draft_id


async def run(clients: int, rounds: int, port: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as setup_http:
        hq, dealer_tokens = await _setup(setup_http)
    handshakes = [
        (
            f"GET /sync/ws?token={token}&protocol=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        for token in dealer_tokens
    ]
    counters: list[_PokeCounter] = []
    current = _Round()
    transports: list[asyncio.BaseTransport] = []
    for start in range(0, clients, 200):
        readies: list[asyncio.Future[None]] = []
        for n in range(start, min(clients, start + 200)):
            ready: asyncio.Future[None] = loop.create_future()
            handshake = handshakes[n % len(handshakes)]
            transport, counter = await loop.create_connection(
                lambda ready=ready, handshake=handshake: _PokeCounter(handshake, ready, current),
                "127.0.0.1",
                port,
            )
            counters.append(counter)
            transports.append(transport)
            readies.append(ready)
        await asyncio.wait_for(asyncio.gather(*readies), 180)
    latencies: list[float] = []
    request_ms: list[float] = []
    round_max_ms: list[float] = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        for round_no in range(rounds):
            draft_id = await _new_draft(http, hq, round_no + 1)
            for counter in counters:
                counter.arrivals.clear()
            current.expected, current.count = len(counters), 0
            current.done.clear()
            started = time.perf_counter()
            response = await http.post(
                f"/hq/price-lists/{draft_id}/publish", headers={"Authorization": f"Bearer {hq}"}
            )
            request_ms.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            with contextlib.suppress(TimeoutError):  # a lost poke is counted, not fatal
                await asyncio.wait_for(current.done.wait(), 30)
            this_round = [c.arrivals[0] - started for c in counters if c.arrivals]
            round_max_ms.append(round(max(this_round, default=0.0) * 1000, 1))
            latencies.extend(this_round)
            await asyncio.sleep(0.2)
    for transport in transports:
        transport.close()
    latencies.sort()
    return {
        "clients": clients,
        "rounds": rounds,
        "delivered": len(latencies),
        "expected": clients * rounds,
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "publish_request_median_ms": round(statistics.median(request_ms), 1),
        "round_max_ms": round_max_ms,
    }


def _raise_open_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, needed), hard)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    args = parser.parse_args()
    _raise_open_file_limit(2 * args.clients + 1024)  # the server child inherits it
    with running_server(args.port, database_url=args.database_url, redis_url=args.redis_url):
        result = asyncio.run(run(args.clients, args.rounds, args.port))
    result["backend"] = "postgresql" if args.database_url else "sqlite"
    result["fanout"] = "redis" if args.redis_url else "in-process"
    print(msgspec.json.encode(result).decode())


if __name__ == "__main__":
    main()
