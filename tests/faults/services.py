"""Services a fault test may kill: its own Redis and PostgreSQL on their own ports (never the
shared ones)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayRedis:
    """``redis-server`` on a free port, without persistence; killed and restarted at will."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """SIGKILL: connections drop at once, as when the host dies."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def _postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb and pg_ctl."""
    found = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own (initdb in a temporary directory, its own port), which
    a test stops and starts at will; never the shared server.

    initdb and postgres refuse to run as root: as root every command runs as the ``postgres``
    user (``runuser``), in a directory it owns under /tmp (pytest's tmp_path is root-only).
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.bin = _postgres_bin()
        self.root: Path | None = None

    @staticmethod
    def available() -> bool:
        return _postgres_bin() is not None and (os.geteuid() != 0 or shutil.which("runuser"))

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        assert self.bin is not None
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, timeout=60)

    def create(self) -> None:
        """initdb a new cluster (trust auth, no fsync: it lives for one test run)."""
        self.root = Path(tempfile.mkdtemp(prefix="channelhub-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.root / "data"), "-A", "trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip

    def start(self) -> None:
        assert self.root is not None
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "server.log"),
            "-o", options, "-w", "-t", "30", "start",
        )  # fmt: skip

    def running(self) -> bool:
        assert self.root is not None
        return (
            self._run("pg_ctl", "-D", str(self.root / "data"), "status", check=False).returncode
            == 0
        )

    def stop(self, mode: str = "fast") -> None:
        """``fast``: sessions are ended, as in a restart; ``immediate``: as in a crash."""
        assert self.root is not None
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", mode, "-w", "stop", check=False)

    def destroy(self) -> None:
        """Stop the cluster (however it is) and remove its files."""
        if self.root is None:
            return
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
