"""Start the real ``channelhub serve`` for a benchmark, on SQLite with demo data
(``running_server``) or on a PostgreSQL database the benchmark seeded (``start_server``)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx

PASSWORD = "bench-password"
SECRET = "bench-secret-" + "b" * 40
"""The JWT secret of every benchmark server: benchmarks issue their tokens with it."""
ADMIN_URL = os.environ.get(
    "CHANNELHUB_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def bench_database(default: str) -> str:
    """The benchmark's PostgreSQL database (``CHANNELHUB_BENCH_PG_DB``, else ``default``)."""
    return os.environ.get("CHANNELHUB_BENCH_PG_DB", default)


def database_url(name: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


async def recreate_database(name: str) -> str:
    """Drop and create the PostgreSQL database ``name`` (empty); its URL."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(
            text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        )
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return database_url(name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(server: subprocess.Popen[bytes], base: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:  # /health answers while the app still loads; /ready when it serves
            if httpx.get(f"{base}/ready", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.kill()
    stderr = server.stderr.read() if server.stderr else b""
    raise RuntimeError("server did not start: " + stderr.decode()[-2000:])


def start_server(url: str, port: int, timeout: float = 30) -> subprocess.Popen[bytes]:
    """``channelhub serve`` on a database already migrated and seeded by the benchmark."""
    env = {
        **os.environ,
        "CHANNELHUB_DATABASE_URL": url,
        "CHANNELHUB_AUTH_JWT_SECRET": SECRET,
        "CHANNELHUB_LOG_LEVEL": "WARNING",
        "CHANNELHUB_DATABASE_POOL_SIZE": "20",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _wait_healthy(server, f"http://127.0.0.1:{port}", timeout)
    return server


@contextlib.contextmanager
def running_server(port: int, *, database_url: str = "", redis_url: str = "") -> Iterator[str]:
    """Yield the base URL of a fresh server (SQLite in a temp dir unless ``database_url``)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "CHANNELHUB_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp}/bench.db",
            "CHANNELHUB_AUTH_JWT_SECRET": SECRET,
            "CHANNELHUB_AUTH_LOGIN_MAX_ATTEMPTS": "1000",
            "CHANNELHUB_STORAGE_LOCAL_DIR": f"{tmp}/storage",
            "CHANNELHUB_LOG_LEVEL": "WARNING",
        }
        if redis_url:
            env["CHANNELHUB_REDIS_URL"] = redis_url
        else:
            env.pop("CHANNELHUB_REDIS_URL", None)
        cli = [sys.executable, "-m", "server"]
        subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True, cwd=tmp)
        subprocess.run(
            [*cli, "seed-demo", "--password", PASSWORD],
            env=env,
            check=True,
            capture_output=True,
            cwd=tmp,
        )
        server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, cwd=tmp)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(server, base, 30)
            yield base
        finally:
            server.terminate()
            server.wait(10)


async def login(http: httpx.AsyncClient, username: str) -> str:
    answer = await http.post("/auth/login", json={"username": username, "password": PASSWORD})
    answer.raise_for_status()
    return str(answer.json()["accessToken"])
