"""Fixtures for the sync tests: real SQLite and PostgreSQL, a demo domain, a tiny app."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import uvicorn
from litestar import Litestar, Request, WebSocket
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException
from litestar.types import Scope
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from sync import (
    Amended,
    Applied,
    Hub,
    MutationContext,
    MutationRegistry,
    MutationRejected,
    Outcome,
    Rejected,
    SyncError,
    SyncPrincipal,
    SyncSettings,
    create_sync_router,
    dealer_scope,
    discard_pokes,
    metadata,
    publish,
    sync_exception_handler,
)
from tests.run_names import run_name

PG_ADMIN_URL = os.environ.get(
    "SYNC_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
PG_DB = run_name("sync_test")
REDIS_URL = os.environ.get("SYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# -- demo domain: orders with stock, published to dealer scopes ---------------------------

demo_metadata = MetaData()
demo_order = Table(
    "demo_order",
    demo_metadata,
    Column("order_id", String(64), primary_key=True),
    Column("dealer_id", String(64), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("qty", Integer, nullable=False),
)
demo_stock = Table(
    "demo_stock",
    demo_metadata,
    Column("sku", String(64), primary_key=True),
    Column("qty", Integer, nullable=False),
)


class PlaceOrder(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    order_id: str
    sku: str
    qty: int


class SetNote(msgspec.Struct, kw_only=True):
    note: str


async def place_order(
    session: AsyncSession, principal: SyncPrincipal, args: PlaceOrder, ctx: MutationContext
) -> Outcome:
    """Reserve stock and create the order; fewer in stock -> amended; none -> rejected."""
    assert principal.dealer_id is not None
    # Write first, then decide: a rejection must roll these writes back.
    await session.execute(
        demo_order.insert().values(
            order_id=args.order_id, dealer_id=principal.dealer_id, sku=args.sku, qty=args.qty
        )
    )
    stock = (
        await session.execute(select(demo_stock.c.qty).where(demo_stock.c.sku == args.sku))
    ).scalar_one_or_none() or 0
    if stock <= 0:
        return Rejected(reason="out_of_stock", detail={"sku": args.sku})
    taken = min(stock, args.qty)
    await session.execute(
        update(demo_stock).where(demo_stock.c.sku == args.sku).values(qty=stock - taken)
    )
    await publish(session, "stock:main", "stock", args.sku, "upsert", {"qty": stock - taken})
    await publish(
        session,
        dealer_scope(principal.dealer_id),
        "order",
        args.order_id,
        "upsert",
        {"sku": args.sku, "qty": taken},
    )
    if taken < args.qty:
        await session.execute(
            update(demo_order).where(demo_order.c.order_id == args.order_id).values(qty=taken)
        )
        return Amended(reason="partial_stock", detail={"qty": taken})
    return Applied(detail={"orderId": args.order_id})


async def refuse(
    session: AsyncSession, principal: SyncPrincipal, args: SetNote, ctx: MutationContext
) -> Outcome:
    await publish(session, dealer_scope(principal.dealer_id or "-"), "note", "n", "upsert", {})
    raise MutationRejected("not_allowed", {"note": args.note})


def make_registry() -> MutationRegistry:
    registry = MutationRegistry()
    registry.register("order.place", PlaceOrder, place_order)
    registry.register("note.set", SetNote, refuse)
    return registry


def principal(
    dealer: str = "d1", scopes: frozenset[str] | None = None, subject: str | None = None
) -> SyncPrincipal:
    return SyncPrincipal(
        subject_id=subject or f"user-{dealer}",
        dealer_id=dealer,
        scopes=scopes if scopes is not None else frozenset({dealer_scope(dealer), "stock:main"}),
    )


# -- databases -----------------------------------------------------------------------------


def unreachable(what: str, exc: BaseException) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} unreachable in CI: {exc}")
    pytest.skip(f"{what} unreachable: {exc}")


async def recreate_postgres_database(name: str) -> str:
    """Drop and create database ``name`` on the test server; return its URL."""
    admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            await conn.execute(text(f"CREATE DATABASE {name}"))
    finally:
        await admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


_engines: dict[str, AsyncEngine] = {}


@pytest.fixture(scope="session")
async def engines(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, AsyncEngine]]:
    yield _engines
    for engine in _engines.values():
        await engine.dispose()


async def _engine_for(kind: str, tmp: Path) -> AsyncEngine:
    if kind not in _engines:
        if kind == "sqlite":
            engine = create_async_engine(f"sqlite+aiosqlite:///{tmp / 'sync.db'}")
        else:
            try:
                url = await recreate_postgres_database(PG_DB)
                engine = create_async_engine(url, pool_size=20, max_overflow=10)
            except (OSError, DBAPIError) as exc:
                unreachable("PostgreSQL", exc)
                raise
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.run_sync(demo_metadata.create_all)
        _engines[kind] = engine
    return _engines[kind]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def engine(
    request: pytest.FixtureRequest,
    engines: dict[str, AsyncEngine],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncEngine:
    """A database with the sync tables, emptied for each test (tests commit for real)."""
    kind: str = request.param
    engine = await _engine_for(kind, tmp_path_factory.getbasetemp())
    tables = [*metadata.sorted_tables, *demo_metadata.sorted_tables]
    async with engine.begin() as conn:
        if kind == "postgresql":
            await conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables)))
        else:
            for table in tables:
                await conn.execute(table.delete())
    return engine


@pytest.fixture
async def postgres_engine(
    engines: dict[str, AsyncEngine], tmp_path_factory: pytest.TempPathFactory
) -> AsyncEngine:
    """The PostgreSQL database alone, emptied, for tests that only make sense there."""
    engine = await _engine_for("postgresql", tmp_path_factory.getbasetemp())
    async with engine.begin() as conn:
        tables = [*metadata.sorted_tables, *demo_metadata.sorted_tables]
        await conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables)))
    return engine


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def set_stock(sessions: async_sessionmaker[AsyncSession], sku: str, qty: int) -> None:
    async with sessions.begin() as session:
        await session.execute(demo_stock.delete().where(demo_stock.c.sku == sku))
        await session.execute(demo_stock.insert().values(sku=sku, qty=qty))


# -- the tiny app the server would be ------------------------------------------------------


@dataclass
class AppParts:
    app: Litestar
    hub: Hub
    sessions: async_sessionmaker[AsyncSession]
    tokens: dict[str, SyncPrincipal]


def build_app(
    sessions: async_sessionmaker[AsyncSession],
    hub: Hub,
    tokens: Mapping[str, SyncPrincipal],
    settings: SyncSettings | None = None,
) -> Litestar:
    """What the server does: a per-request session committed after the handler, then pokes."""

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
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
        auth = connection.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") or connection.query_params.get("token", "")
        found = tokens.get(token)
        if found is None:
            raise NotAuthorizedException("bad token")
        return found

    async def socket_principal(socket: WebSocket[Any, Any, Any]) -> SyncPrincipal:
        return provide_principal(socket.scope)

    def on_error(request: Request[Any, Any, Any], exc: Exception) -> Any:
        return sync_exception_handler(request, exc)

    return Litestar(
        route_handlers=[
            create_sync_router(hub, make_registry(), settings, socket_principal=socket_principal)
        ],
        dependencies={
            "db_session": Provide(provide_db_session),
            "sync_principal": Provide(provide_principal, sync_to_thread=False),
        },
        exception_handlers={SyncError: on_error},
        on_startup=[hub.start],
        on_shutdown=[hub.stop],
        debug=False,
    )


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    hub = Hub(heartbeat_interval=0.5, send_timeout=0.5)
    yield hub


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """A real uvicorn server on 127.0.0.1 in this event loop (per-message deflate off)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws_per_message_deflate=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> LiveServer:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:  # noqa: ASYNC110 - uvicorn has no started event
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        assert self.task is not None
        await self.task


@pytest.fixture
async def live(
    sessions: async_sessionmaker[AsyncSession], hub: Hub
) -> AsyncIterator[tuple[LiveServer, dict[str, SyncPrincipal]]]:
    tokens: dict[str, SyncPrincipal] = {}
    async with LiveServer(build_app(sessions, hub, tokens)) as server:
        yield server, tokens


@pytest.fixture
async def http(
    sessions: async_sessionmaker[AsyncSession], hub: Hub
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, SyncPrincipal]]]:
    """An httpx client on the app in-process (ASGI), with its lifespan running."""
    tokens: dict[str, SyncPrincipal] = {}
    app = build_app(sessions, hub, tokens)
    # The ASGI transport runs no lifespan: start the hub as the app's on_startup would.
    await hub.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sync.test"
        ) as client:
            yield client, tokens
    finally:
        await hub.stop()
