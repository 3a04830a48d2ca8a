"""Hypothesis stateful test: offline clients, lost responses, reinstalls, a writer, compaction.

Invariants checked after every run, once everyone is back online and synced:
every client's replica equals the server's state for its scopes; every business key has at
most one effect, present exactly when its outcome is applied or amended; every mutation
has exactly one outcome; stock is conserved.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)

from sync import Hub, SyncPrincipal, metadata, publish
from sync.client import SyncClient
from sync.compaction import compact
from sync.tables import sync_change
from tests.run_names import run_name
from tests.sync.conftest import (
    build_app,
    demo_metadata,
    demo_order,
    demo_stock,
    recreate_postgres_database,
    unreachable,
)

SKUS = ["tea", "milk"]
PRICE_KEYS = ["p1", "p2", "p3"]


class FlakyTransport(httpx.AsyncBaseTransport):
    """The app in-process, behind a network that can be down or lose a response."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.offline = False
        self.lose_next = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.offline:
            raise httpx.ConnectError("offline", request=request)
        response = await self.inner.handle_async_request(request)
        if self.lose_next:
            self.lose_next = False
            await response.aread()  # the server has committed; the answer never arrives
            raise httpx.ReadError("connection lost", request=request)
        return response


def principals() -> dict[str, SyncPrincipal]:
    def who(dealer: str, region: str) -> SyncPrincipal:
        scopes = frozenset({f"dealer:{dealer}", "stock:main", f"price:{region}"})
        return SyncPrincipal(subject_id=f"user-{dealer}", dealer_id=dealer, scopes=scopes)

    return {"a1": who("d1", "east"), "a2": who("d1", "east"), "b1": who("d2", "west")}


class SyncMachine(RuleBasedStateMachine):
    database_url: str = ""  # set per example by ``_run``

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine: AsyncEngine = self.run(self._engine())
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.tokens = principals()
        self.app = build_app(self.sessions, Hub(), self.tokens)
        self.clients: dict[str, tuple[SyncClient, FlakyTransport]] = {}
        for token in self.tokens:
            self._install(token)
        self.prices: dict[str, dict[str, int]] = {"price:east": {}, "price:west": {}}
        self.stock_added = {"tea": 3, "milk": 3}
        # business key -> (token, name) of every order ever queued
        self.orders: dict[str, str] = {}
        self.run(self._seed())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _engine(self) -> AsyncEngine:
        engine = create_async_engine(self.database_url)
        async with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                await conn.run_sync(metadata.create_all)
                await conn.run_sync(demo_metadata.create_all)
                tables = [*metadata.sorted_tables, *demo_metadata.sorted_tables]
                await conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables)))
            else:
                await conn.run_sync(metadata.create_all)
                await conn.run_sync(demo_metadata.create_all)
        return engine

    async def _seed(self) -> None:
        async with self.sessions.begin() as session:
            for sku, qty in self.stock_added.items():
                await session.execute(demo_stock.insert().values(sku=sku, qty=qty))
                await publish(session, "stock:main", "stock", sku, "upsert", {"qty": qty})

    def _install(self, token: str) -> SyncClient:
        transport = FlakyTransport(self.app)
        http = httpx.AsyncClient(transport=transport, base_url="http://sync.test")
        client = SyncClient(http, token, client_id=f"{token}-{uuid.uuid4().hex[:8]}", page_size=3)
        self.clients[token] = (client, transport)
        return client

    # -- rules ---------------------------------------------------------------------------

    @rule(
        region=st.sampled_from(["east", "west"]),
        key=st.sampled_from(PRICE_KEYS),
        fen=st.integers(1, 999) | st.none(),
    )
    def hq_changes_price(self, region: str, key: str, fen: int | None) -> None:
        scope = f"price:{region}"

        async def write() -> None:
            async with self.sessions.begin() as session:
                if fen is None:
                    await publish(session, scope, "price", key, "delete")
                else:
                    await publish(session, scope, "price", key, "upsert", {"fen": fen})

        self.run(write())
        if fen is None:
            self.prices[scope].pop(key, None)
        else:
            self.prices[scope][key] = fen

    @rule(sku=st.sampled_from(SKUS), qty=st.integers(1, 3))
    def hq_restocks(self, sku: str, qty: int) -> None:
        async def write() -> None:
            async with self.sessions.begin() as session:
                current = (
                    await session.execute(select(demo_stock.c.qty).where(demo_stock.c.sku == sku))
                ).scalar_one()
                await session.execute(
                    demo_stock.update().where(demo_stock.c.sku == sku).values(qty=current + qty)
                )
                await publish(session, "stock:main", "stock", sku, "upsert", {"qty": current + qty})

        self.run(write())
        self.stock_added[sku] += qty

    @rule(
        token=st.sampled_from(["a1", "a2", "b1"]), sku=st.sampled_from(SKUS), qty=st.integers(1, 3)
    )
    def dealer_queues_order(self, token: str, sku: str, qty: int) -> None:
        client, _ = self.clients[token]
        key = uuid.uuid4().hex
        client.enqueue("order.place", {"order_id": key, "sku": sku, "qty": qty}, business_key=key)
        self.orders[key] = token

    @rule(token=st.sampled_from(["a1", "a2", "b1"]), offline=st.booleans())
    def network_changes(self, token: str, offline: bool) -> None:
        self.clients[token][1].offline = offline

    @rule(token=st.sampled_from(["a1", "a2", "b1"]), lose=st.booleans(), pull_only=st.booleans())
    def client_syncs(self, token: str, lose: bool, pull_only: bool) -> None:
        client, transport = self.clients[token]
        transport.lose_next = lose
        with contextlib.suppress(httpx.HTTPError):
            self.run(client.pull() if pull_only else client.sync())
        transport.lose_next = False

    @rule(token=st.sampled_from(["a1", "a2", "b1"]))
    def dealer_reinstalls_app(self, token: str) -> None:
        """A new install replays the old install's unsent orders (same business keys)."""
        old, transport = self.clients[token]
        unsent = old.db.execute(
            "SELECT name, args, business_key FROM outbox ORDER BY mid"
        ).fetchall()
        new = self._install(token)
        self.clients[token][1].offline = transport.offline
        for name, args, key in unsent:
            new.enqueue(name, json.loads(args), business_key=key)
        self._retired = [*getattr(self, "_retired", []), old]

    @rule(token=st.sampled_from(["a1", "a2", "b1"]))
    def phone_dies_mid_push(self, token: str) -> None:
        """The server commits a push, the answer is lost, and the app is reinstalled."""
        self.client_syncs(token, lose=True, pull_only=False)
        self.dealer_reinstalls_app(token)

    @rule(scope=st.sampled_from(["price:east", "price:west", "stock:main", "dealer:d1"]))
    def nightly_compaction(self, scope: str) -> None:
        async def run() -> None:
            async with self.sessions.begin() as session:
                await compact(session, retention=None, scopes=[scope])

        self.run(run())

    @invariant()
    def stock_never_negative(self) -> None:
        async def read() -> list[int]:
            async with self.sessions() as session:
                return list((await session.execute(select(demo_stock.c.qty))).scalars())

        assert all(q >= 0 for q in self.run(read()))

    # -- convergence ---------------------------------------------------------------------

    async def _server_state(self, scope: str) -> dict[tuple[str, str], bytes]:
        newer = sync_change.alias("newer")
        async with self.sessions() as session:
            rows = await session.execute(
                select(sync_change.c.entity, sync_change.c.key, sync_change.c.data).where(
                    sync_change.c.scope == scope,
                    sync_change.c.op == "upsert",
                    ~select(newer.c.version)
                    .where(
                        newer.c.scope == scope,
                        newer.c.entity == sync_change.c.entity,
                        newer.c.key == sync_change.c.key,
                        newer.c.version > sync_change.c.version,
                    )
                    .exists(),
                )
            )
            return {(e, k): d for e, k, d in rows}

    def teardown(self) -> None:
        try:
            for _, transport in self.clients.values():
                transport.offline = False
            for _ in range(2):
                for client, _ in self.clients.values():
                    self.run(client.sync())
            for token, (client, _) in self.clients.items():
                assert client.pending() == []
                for scope in self.tokens[token].scopes:
                    server = {
                        k: json.loads(v) for k, v in self.run(self._server_state(scope)).items()
                    }
                    assert client.state(scope) == server, (token, scope)
                region_scope = next(s for s in self.tokens[token].scopes if s.startswith("price:"))
                assert {k: v["fen"] for (_, k), v in client.state(region_scope).items()} == (
                    self.prices[region_scope]
                )
            # Exactly one outcome per mutation, one effect per business key.
            outcome_of: dict[str, str] = {}
            for client in [*getattr(self, "_retired", []), *(c for c, _ in self.clients.values())]:
                for outcome in client.outcomes().values():
                    key = outcome["businessKey"]
                    if key in outcome_of:
                        assert outcome_of[key] == outcome["status"], key
                    outcome_of[key] = outcome["status"]
            sent_somewhere = set(outcome_of)
            assert sent_somewhere == set(self.orders)

            async def effects() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
                async with self.sessions() as session:
                    rows = await session.execute(
                        select(demo_order.c.order_id, func.count()).group_by(demo_order.c.order_id)
                    )
                    taken = await session.execute(
                        select(demo_order.c.sku, func.sum(demo_order.c.qty)).group_by(
                            demo_order.c.sku
                        )
                    )
                    stock = await session.execute(select(demo_stock.c.sku, demo_stock.c.qty))
                    return dict(rows.all()), dict(taken.all()), dict(stock.all())

            counts, taken, stock = self.run(effects())
            for key, status in outcome_of.items():
                assert counts.get(key, 0) == (1 if status in ("applied", "amended") else 0), key
            for sku in SKUS:
                assert stock[sku] == self.stock_added[sku] - int(taken.get(sku) or 0)
        finally:
            for client in [*getattr(self, "_retired", []), *(c for c, _ in self.clients.values())]:
                self.run(client.http.aclose())
                client.close()
            self.run(self.engine.dispose())
            self.loop.close()


def _run(database_url: Callable[[], str], examples: int, steps: int) -> None:
    class Machine(SyncMachine):
        def __init__(self) -> None:
            type(self).database_url = database_url()
            super().__init__()

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_clients_converge_on_sqlite() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10_000))
        _run(lambda: f"sqlite+aiosqlite:///{Path(tmp) / f'{next(counter)}.db'}", 20, 30)


def _fresh_postgres_database(name: str) -> str:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(recreate_postgres_database(name))
    except (OSError, DBAPIError) as exc:
        unreachable("PostgreSQL", exc)
        raise
    finally:
        loop.close()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("examples", "steps"), [(8, 25), pytest.param(60, 40, marks=pytest.mark.slow)]
)
def test_clients_converge_on_postgresql(examples: int, steps: int) -> None:
    url = _fresh_postgres_database(run_name("sync_test_stateful"))
    _run(lambda: url, examples, steps)
