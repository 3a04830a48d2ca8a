"""Browser tests of the HQ console: the real app in a subprocess, Debian's chromium driven by
Playwright (never ``playwright install``: its download cannot reach the network here).

Every page a test opens fails the test on a browser console error, an uncaught script error or
a request to any host but the app; screenshots go to ``var/console-screenshots/``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from server.db.migrate import upgrade
from server.settings import AuthSettings, DatabaseSettings, Settings, StorageSettings
from tests.console.browser.data import World, build

CHROMIUM = os.environ.get("CHANNELHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "var" / "console-screenshots"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"

playwright_sync = pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Console:
    """The running app and the data the tests look for."""

    def __init__(self, base_url: str, world: World, settings: Settings) -> None:
        self.base_url = base_url
        self.world = world
        self.settings = settings


@pytest.fixture(scope="package")
def console_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("console")
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        auth=AuthSettings(jwt_secret="console-test-secret-" + "k" * 40),
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{folder}/console.db"),
        storage=StorageSettings(local_dir=str(folder / "storage")),
        public_base_url=base_url,
        dev_mode=True,
        jobs_in_process=False,
        log_level="WARNING",
    )
    upgrade(settings.database.url)
    world = asyncio.run(build(settings))
    env = {
        **os.environ,
        "CHANNELHUB_DATABASE_URL": settings.database.url,
        "CHANNELHUB_STORAGE_LOCAL_DIR": settings.storage.local_dir,
        "CHANNELHUB_AUTH_JWT_SECRET": settings.auth.jwt_secret,
        "CHANNELHUB_PUBLIC_BASE_URL": base_url,
        "CHANNELHUB_DEV_MODE": "true",
        "CHANNELHUB_LOG_LEVEL": "WARNING",
    }
    env.pop("CHANNELHUB_REDIS_URL", None)
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    try:
        _wait_healthy(base_url, server)
        yield Console(base_url, world, settings)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _wait_healthy(base_url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 240  # /health answers at once; /ready when the app serves
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"{base_url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the server did not become healthy in 240 s")


# Package scope, and this package holds only the tests that drive the browser: Playwright's sync
# API keeps an event loop running in the main thread while it is open, so any test that calls
# asyncio.run or runs on pytest-asyncio's loop fails until the browser is closed. The package
# ends (and closes it) before pytest moves on to the console's other tests or other suites.
@pytest.fixture(scope="package")
def browser(console_app: Console) -> Iterator[object]:
    with playwright_sync.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


class Watched:
    """A browser page whose problems are collected: console errors, script errors, requests
    to other hosts."""

    def __init__(self, page: object, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.problems: list[str] = []
        self.error_statuses_expected = False
        """Set by tests that provoke an error page on purpose (the browser logs its status)."""

    def note_console(self, kind: str, text: str) -> None:
        expected = self.error_statuses_expected and text.startswith(
            "Failed to load resource: the server responded with a status of 4"
        )
        if kind == "error" and not expected:
            self.problems.append(f"console error: {text}")

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    def sign_in(self, username: str = "ops", password: str = "channelhub-demo") -> None:
        page = self.page
        page.goto(f"{self.base_url}/console/login")  # type: ignore[attr-defined]
        page.get_by_label("用户名").fill(username)  # type: ignore[attr-defined]
        page.get_by_label("密码").fill(password)  # type: ignore[attr-defined]
        page.get_by_role("button", name="登录").click()  # type: ignore[attr-defined]

    def check_accessibility(self) -> list[dict[str, object]]:
        """axe-core's serious and critical violations on the current page."""
        page = self.page
        page.add_script_tag(content=AXE.read_text())  # type: ignore[attr-defined]
        result = page.evaluate(  # type: ignore[attr-defined]
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
        )
        return list(result)


@pytest.fixture
def watched(browser: object, console_app: Console) -> Iterator[Watched]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    w = Watched(page, console_app.base_url)
    app_host = urlsplit(console_app.base_url).netloc

    def on_request(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if urlsplit(url).netloc != app_host and not url.startswith(("data:", "blob:")):
            w.problems.append(f"request to another host: {url}")
            route.abort()  # type: ignore[attr-defined]
        else:
            route.continue_()  # type: ignore[attr-defined]

    context.route("**/*", on_request)
    page.on("console", lambda m: w.note_console(m.type, m.text))
    page.on("pageerror", lambda e: w.problems.append(f"page error: {e}"))
    yield w
    context.close()
    assert w.problems == [], w.problems
