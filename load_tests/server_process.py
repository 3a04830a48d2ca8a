"""Start the real ``channelhub serve`` for a benchmark: migrated, demo data, its own settings."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx

PASSWORD = "bench-password"


@contextlib.contextmanager
def running_server(port: int, *, database_url: str = "", redis_url: str = "") -> Iterator[str]:
    """Yield the base URL of a fresh server (SQLite in a temp dir unless ``database_url``)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "CHANNELHUB_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp}/bench.db",
            "CHANNELHUB_AUTH_JWT_SECRET": "bench-secret-" + "b" * 40,
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
            for _ in range(300):
                if server.poll() is not None:
                    raise SystemExit("server did not start")
                try:
                    if httpx.get(f"{base}/health", timeout=0.5).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            yield base
        finally:
            server.terminate()
            server.wait(10)


async def login(http: httpx.AsyncClient, username: str) -> str:
    answer = await http.post("/auth/login", json={"username": username, "password": PASSWORD})
    answer.raise_for_status()
    return str(answer.json()["accessToken"])
