"""Run a command against a real channelhub server: ``python3 test/serve.py -- node --test ...``.

``--scale SKUS`` seeds ``channelhub seed-scale`` (the demo and its logins, plus SKUS SKUs with
their regional price lists; 10 scale dealers, no orders or claims) instead of the demo alone:
``python3 test/serve.py --scale 20000 -- node dist/bench/first-sync.js``.

Starts ``channelhub serve`` on a fresh SQLite database (migrated, demo data seeded) on a free
port, runs the command with ``CHANNELHUB_TEST_BASE`` (the base URL) and
``CHANNELHUB_TEST_PASSWORD`` (the demo logins' password) in its environment, stops the server
and exits with the command's status. The server comes from the repository's ``.venv``
(``make setup-test``), or ``CHANNELHUB_BIN``.

``CHANNELHUB_TEST_CONTROL`` is the base URL of a small control server: ``POST /restart``
kills the server (SIGKILL: a crash, nothing flushed) and starts it again on the same
database and port, answering once it is ready; ``?down=SECONDS`` keeps it down that long.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class Server:
    """The channelhub server process, which the control server can restart."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: str, base: str) -> None:
        self.command, self.env, self.cwd, self.base = command, env, cwd, base
        self.lock = threading.Lock()
        self.process = self.start()

    def start(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(self.command, env=self.env, cwd=self.cwd)
        wait_ready(process, self.base, 60)
        return process

    def restart(self, down: float) -> None:
        with self.lock:
            self.process.kill()
            self.process.wait(10)
            time.sleep(down)
            self.process = self.start()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def control(server: Server) -> ThreadingHTTPServer:
    """A control server on a free port: ``POST /restart[?down=SECONDS]``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/restart":
                self.send_error(404)
                return
            down = float(urllib.parse.parse_qs(url.query).get("down", ["0"])[0])
            server.restart(min(down, 30.0))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def main(argv: list[str]) -> int:
    if "--" not in argv:
        raise SystemExit("usage: serve.py -- COMMAND ...")
    command = argv[argv.index("--") + 1 :]
    options = argv[: argv.index("--")]
    seeding = ["seed-demo", "--password", PASSWORD]
    if options[:1] == ["--scale"] and len(options) == 2:
        seeding = ["seed-scale", "--dealers", "10", "--skus", options[1], "--orders", "0"]
        seeding += ["--claims", "0", "--password", PASSWORD]
    elif options:
        raise SystemExit("usage: serve.py [--scale SKUS] -- COMMAND ...")
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
            [channelhub, *seeding],
            env=env,
            check=True,
            capture_output=True,
            cwd=tmp,
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = Server(
            [channelhub, "serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp, base
        )
        httpd = control(server)
        try:
            test_env = {
                **os.environ,
                "CHANNELHUB_TEST_BASE": base,
                "CHANNELHUB_TEST_PASSWORD": PASSWORD,
                "CHANNELHUB_TEST_CONTROL": f"http://127.0.0.1:{httpd.server_address[1]}",
            }
            return subprocess.run(command, env=test_env, check=False).returncode
        finally:
            httpd.shutdown()
            server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
