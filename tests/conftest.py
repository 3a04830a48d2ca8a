"""Test harness: every app test runs on SQLite and on a real PostgreSQL.

Databases are built by the migrations, once per session and backend; each test starts from
empty tables (PostgreSQL: TRUNCATE; SQLite: a fresh copy of the migrated file) and commits
for real, so concurrency tests see what production would. Under ``CI=true`` a service that
cannot be reached fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from server.app import create_app
from server.db.engine import Database
from server.db.migrate import upgrade
from server.db.models import target_metadata
from server.db.session import transaction
from server.notifications import install_notifications
from server.settings import (
    AuthSettings,
    DatabaseSettings,
    Settings,
    StorageSettings,
    WechatSettings,
)
from server.trail import install_trail
from tests import observed_statuses
from tests.fakes.wechat import APPID, SECRET, FakeWechat
from tests.run_names import RUN_ID, run_name

IN_CI = os.environ.get("CI") == "true"
logging.getLogger("httpx").setLevel(logging.WARNING)
PG_ADMIN_URL = os.environ.get(
    "CHANNELHUB_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
PG_DATABASE = os.environ.get("CHANNELHUB_TEST_PG_DB") or run_name("channelhub_test")
REDIS_URL = os.environ.get("CHANNELHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
S3_URL = os.environ.get("CHANNELHUB_TEST_S3_URL", "")
BACKENDS = [
    p for p in os.environ.get("CHANNELHUB_TEST_BACKENDS", "sqlite,postgres").split(",") if p
]


def unavailable(service: str, why: str) -> None:
    """Skip locally, fail in CI: a missing service must never pass silently there."""
    message = f"{service} unavailable: {why}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _recreate_pg_database() -> str:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(
                text(
                    f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{PG_DATABASE}' "
                    "AND pid <> pg_backend_pid()"
                )
            )
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}"'))
            await conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    finally:
        await engine.dispose()
    return _pg_url(PG_DATABASE)


async def _drop_run_databases() -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            names = (
                await conn.execute(
                    text("SELECT datname FROM pg_database WHERE datname LIKE :pattern"),
                    {"pattern": f"%{RUN_ID}"},
                )
            ).scalars()
            for name in list(names):
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


observed_statuses.install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop this run's databases; fail the run if an operation answered an undocumented status."""
    with contextlib.suppress(Exception):  # the server may be down (fault tests) or absent
        asyncio.run(asyncio.wait_for(_drop_run_databases(), timeout=30))
    dump = os.environ.get("CHANNELHUB_OBSERVED_OUT")
    if dump:
        Path(dump).write_text(json.dumps(sorted(observed_statuses.observed)))
    if not observed_statuses.report()[1] and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The contract's figures: documented statuses against the statuses tests observed."""
    for line in observed_statuses.report()[0]:
        terminalreporter.write_line(line)


def _table_names() -> list[str]:
    return [t.name for md in target_metadata for t in md.sorted_tables]


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str]:
    """(backend, url of a migrated template database)."""
    backend: str = request.param
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "template.db"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)
        return backend, url
    try:
        url = asyncio.run(asyncio.wait_for(_recreate_pg_database(), timeout=60))
    except Exception as exc:  # any failure to reach the server
        unavailable("PostgreSQL", repr(exc))
    upgrade(url)
    return backend, url


@pytest.fixture
async def database_url(migrated_backend: tuple[str, str], tmp_path: Path) -> str:
    """A migrated, empty database for this test."""
    backend, template = migrated_backend
    if backend == "sqlite":
        source = Path(template.removeprefix("sqlite+aiosqlite:///"))
        target = tmp_path / "test.db"
        shutil.copyfile(source, target)
        return f"sqlite+aiosqlite:///{target}"
    engine = create_async_engine(template)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(f"TRUNCATE {', '.join(_table_names())} RESTART IDENTITY CASCADE")
            )
    finally:
        await engine.dispose()
    return template


@pytest.fixture
def backend(migrated_backend: tuple[str, str]) -> str:
    return migrated_backend[0]


@pytest.fixture(scope="session")
def fake_wechat() -> Iterator[FakeWechat]:
    with FakeWechat() as fake:
        yield fake


def make_settings(
    database_url: str, tmp_path: Path, wechat_url: str, **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "auth": AuthSettings(jwt_secret="test-secret-" + "k" * 40),
        "database": DatabaseSettings(url=database_url),
        "storage": StorageSettings(local_dir=str(tmp_path / "storage")),
        "wechat": WechatSettings(
            base_url=wechat_url, appid=APPID, secret=SECRET, timeout_seconds=3
        ),
        "log_level": "WARNING",
        "public_base_url": "http://testserver.local",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str, tmp_path: Path, fake_wechat: FakeWechat) -> Settings:
    return make_settings(database_url, tmp_path, fake_wechat.base_url)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app, base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """A second handle on the test database, for factories and for checking what was stored."""
    database = Database(settings.database)
    install_notifications(database)  # events noted here are told at commit, as in the app
    install_trail(database)  # decisions the tests take here join the approval trail
    yield database
    await database.dispose()


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    """A session that commits at the end of the ``async with`` block it is used in."""
    async with transaction(db) as s:
        yield s


def new_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis", repr(exc))
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    if not S3_URL:
        unavailable("S3", "CHANNELHUB_TEST_S3_URL is not set (make test starts SeaweedFS)")
    return S3_URL


def clean_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
