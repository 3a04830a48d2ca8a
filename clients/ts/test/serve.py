"""Run a command against a real channelhub server: ``python3 test/serve.py -- node --test ...``.

Starts ``channelhub serve`` on a fresh SQLite database (migrated, demo data seeded) on a free
port, runs the command with ``CHANNELHUB_TEST_BASE`` (the base URL) and
``CHANNELHUB_TEST_PASSWORD`` (the demo logins' password) in its environment, stops the server
and exits with the command's status. The server comes from the repository's ``.venv``
(``make setup-test``), or ``CHANNELHUB_BIN``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PASSWORD = "sdk-test-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(server: subprocess.Popen[bytes], base: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:  # /health answers while the app still loads; /ready when it serves
            with urllib.request.urlopen(f"{base}/ready", timeout=0.5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    server.kill()
    raise SystemExit("channelhub serve did not start")


def main(argv: list[str]) -> int:
    if "--" not in argv:
        raise SystemExit("usage: serve.py -- COMMAND ...")
    command = argv[argv.index("--") + 1 :]
    channelhub = os.environ.get("CHANNELHUB_BIN", str(REPO / ".venv" / "bin" / "channelhub"))
    with tempfile.TemporaryDirectory(prefix="channelhub-sdk-") as tmp:
        env = {
            **os.environ,
            "CHANNELHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/sdk.db",
            "CHANNELHUB_AUTH_JWT_SECRET": "sdk-test-secret-" + "s" * 40,
            "CHANNELHUB_AUTH_LOGIN_MAX_ATTEMPTS": "1000",
            "CHANNELHUB_STORAGE_LOCAL_DIR": f"{tmp}/storage",
            "CHANNELHUB_LOG_LEVEL": "WARNING",
        }
        env.pop("CHANNELHUB_REDIS_URL", None)
        subprocess.run([channelhub, "migrate"], env=env, check=True, capture_output=True, cwd=tmp)
        subprocess.run(
            [channelhub, "seed-demo", "--password", PASSWORD],
            env=env,
            check=True,
            capture_output=True,
            cwd=tmp,
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [channelhub, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=tmp
        )
        try:
            wait_ready(server, base, 60)
            test_env = {
                **os.environ,
                "CHANNELHUB_TEST_BASE": base,
                "CHANNELHUB_TEST_PASSWORD": PASSWORD,
            }
            return subprocess.run(command, env=test_env, check=False).returncode
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
