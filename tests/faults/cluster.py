"""Two ``channelhub serve`` replicas and job workers on a PostgreSQL and a Redis of their own.

Everything runs as real processes, as an operator would run them: the CLI migrates and seeds
the demo data, the replicas serve on their own ports, ``channelhub worker`` runs the jobs (the
replicas run none: ``CHANNELHUB_JOBS_IN_PROCESS=false``). A fault test stops PostgreSQL, kills
Redis or a worker, and :meth:`Cluster.close` ends every process it started, whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.faults.services import ThrowawayPostgres, ThrowawayRedis, free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "faults-demo-pass"
SECRET = "faults-test-secret-" + "f" * 40
FIGURES: list[str] = []
"""One line per case, printed as it is measured and again in the terminal summary."""


def report(line: str) -> None:
    print(line)
    FIGURES.append(line)


def _log_tail(path: Path, chars: int = 3000) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-chars:]
    return ""


@dataclass
class Process:
    """A CLI process of ours with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def rss_bytes(self) -> int:
        """Resident memory now (``VmRSS`` of /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"{self.name}: no VmRSS")

    def end(self, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL if it lingers; always reaped."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when the host or the OOM killer ends it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def tail(self) -> str:
        return f"--- {self.name} (pid {self.pid}) ---\n{_log_tail(self.log)}"


@dataclass
class Replica(Process):
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """The services and processes of a fault suite, and the demo logins' tokens."""

    folder: Path
    pg: ThrowawayPostgres = field(default_factory=ThrowawayPostgres)
    redis: ThrowawayRedis | None = None
    replicas: list[Replica] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def redis_url(self) -> str:
        assert self.redis is not None
        return self.redis.url

    @property
    def env(self) -> dict[str, str]:
        assert self.redis is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHANNELHUB_")}
        env.update(
            {
                "CHANNELHUB_DATABASE_URL": self.pg.url,
                "CHANNELHUB_REDIS_URL": self.redis.url,
                "CHANNELHUB_AUTH_JWT_SECRET": SECRET,
                "CHANNELHUB_STORAGE_LOCAL_DIR": str(self.folder / "storage"),
                "CHANNELHUB_JOBS_IN_PROCESS": "false",
                "CHANNELHUB_LOG_LEVEL": "WARNING",
                "CHANNELHUB_PUBLIC_BASE_URL": "http://127.0.0.1",
                "PYTHONUNBUFFERED": "1",  # the logs are read when a case fails
            }
        )
        return env

    def start(self, replicas: int = 2) -> None:
        """initdb, start PostgreSQL and Redis, migrate, seed, serve; wait until all are ready."""
        self.redis = ThrowawayRedis(self.folder)
        self.pg.create()
        self.pg.start()
        self.redis.start()
        self._cli("migrate")
        self._cli("seed-demo", "--password", PASSWORD)
        for index in range(replicas):
            self.replicas.append(self._serve(f"api{index + 1}"))
        for replica in self.replicas:
            self.wait_ready(replica, 120)

    def _cli(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "server", *args],
            env=self.env,
            cwd=self.folder,
            capture_output=True,
            timeout=180,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"channelhub {args[0]} failed:\n{done.stderr.decode()[-3000:]}")

    def _spawn(self, name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.folder / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "server", *args],
                env=self.env,
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return process, log

    def _serve(self, name: str) -> Replica:
        port = free_port()
        process, log = self._spawn(name, "serve", "--host", "127.0.0.1", "--port", str(port))
        return Replica(name=name, process=process, log=log, port=port)

    def start_worker(self, name: str) -> Process:
        process, log = self._spawn(name, "worker", "--concurrency", "2")
        worker = Process(name=name, process=process, log=log)
        self.workers.append(worker)
        return worker

    def wait_ready(self, replica: Replica, seconds: float = 30) -> None:
        """Until ``/ready`` answers 200 ``ok`` (every dependency up)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not replica.alive():
                raise RuntimeError(f"{replica.name} exited\n{replica.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.get(f"{replica.base_url}/ready", timeout=3)
                if answer.status_code == 200 and answer.json()["status"] == "ok":
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{replica.name} not ready in {seconds} s\n{replica.tail()}")

    def wait_all_ready(self, seconds: float = 30) -> None:
        for replica in self.replicas:
            self.wait_ready(replica, seconds)

    def login(self, username: str) -> str:
        """An access token for a demo login (cached: tokens outlive a test)."""
        if username not in self.tokens:
            answer = httpx.post(
                f"{self.replicas[0].base_url}/auth/login",
                json={"username": username, "password": PASSWORD},
                timeout=10,
            )
            answer.raise_for_status()
            self.tokens[username] = str(answer.json()["accessToken"])
        return self.tokens[username]

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.login(username)}"}

    def tails(self) -> str:
        """The end of every process's log, for a failure's message."""
        return "\n".join(p.tail() for p in [*self.replicas, *self.workers])

    def close(self) -> None:
        """End every process this cluster started, then its services; never raises."""
        for process in [*self.workers, *self.replicas]:
            with contextlib.suppress(Exception):
                process.end()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                self.redis.kill()
        with contextlib.suppress(Exception):
            self.pg.destroy()


async def sql(cluster: Cluster, statement: str, **params: Any) -> list[Any]:
    """Rows of one statement on the cluster's database (what the replicas stored)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(cluster.pg.url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(statement), params)).all())
    finally:
        await engine.dispose()


async def wait_for(check: Any, seconds: float, interval: float = 0.1) -> float:
    """Poll ``check`` (sync or async) until true; the seconds it took (fails past ``seconds``)."""
    started = time.monotonic()
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return time.monotonic() - started
        if time.monotonic() - started > seconds:
            raise AssertionError(f"not true within {seconds} s")
        await asyncio.sleep(interval)
