"""The WebSocket of sync/PROTOCOL.md, against the real app: every frame the server sends has
the shape of the document's example for its type, and every close code of the document's
table is sent, with a documented reason and the documented ``error`` frame before it.

Shapes are compared member by member with JSON types (string, number, boolean, null, the
shape of a list's items, an object's members), so an example and a real frame differ only in
values. The slow consumer runs on a real uvicorn server: only a real socket fills up.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
import uvicorn
import websockets
from litestar import Litestar
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from litestar.testing.websocket_test_session import WebSocketTestSession

from server.app import create_app
from server.db.engine import Database
from server.db.migrate import upgrade
from server.identity.models import Role
from server.identity.principal import Principal
from server.identity.tokens import issue_access_token
from server.settings import DatabaseSettings, Settings
from server.warmup import WarmingApp
from tests.conftest import make_settings
from tests.fakes.wechat import FakeWechat
from tests.orders.conftest import make_shop
from tests.server.test_protocol_examples import examples

PROTOCOL = Path(__file__).resolve().parents[2] / "sync" / "PROTOCOL.md"
HEARTBEAT = 0.2


class CloseCode(msgspec.Struct, frozen=True):
    """One row of the document's close-code table."""

    reasons: frozenset[str]
    members: frozenset[str]
    """The ``error`` frame's own members, beyond those every error frame has."""
    frame: bool
    """Whether an ``error`` frame comes before the close."""


def close_codes() -> dict[int, CloseCode]:
    """The close-code table that follows ``<!-- close-codes -->``."""
    table = PROTOCOL.read_text().split("<!-- close-codes -->", 1)[1].strip().split("\n\n")[0]
    rows: dict[int, CloseCode] = {}
    for line in table.splitlines()[2:]:
        code, reasons, members, *_ = [cell.strip() for cell in line.strip("|").split("|")]
        rows[int(code)] = CloseCode(
            reasons=frozenset(re.findall(r"`(\w[\w ]*)`", reasons)),
            members=frozenset(re.findall(r"`(\w+)`", members.replace("`error`", ""))),
            frame="no `error` frame" not in members,
        )
    return rows


def shape(value: Any) -> Any:
    """The JSON type of a value, member by member."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        found = {json.dumps(shape(item), sort_keys=True) for item in value}
        return [json.loads(item) for item in sorted(found)]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "string"


def documented_frames() -> dict[str, Any]:
    """Frame type -> its example (``ws-hello``, ``ws-poke``, ``ws-heartbeat``, ``ws-error``)."""
    found = {name: body for name, body in examples().items() if name.startswith("ws-")}
    return {body["type"]: body for body in found.values()}


def common_error_members() -> set[str]:
    """Members every ``error`` frame has: the example's, less its own (426: ``supported``)."""
    return set(documented_frames()["error"]) - close_codes()[4426].members


def check_error_frame(frame: dict[str, Any], close: int, reason: str) -> None:
    """The frame before a close is the documented problem for that close code."""
    row = close_codes()[close]
    assert reason in row.reasons, (close, reason, sorted(row.reasons))
    assert row.frame, f"{close} is documented without an error frame"
    assert set(frame) == common_error_members() | row.members, (close, sorted(frame))
    example = documented_frames()["error"]
    common = {key: frame[key] for key in common_error_members()}
    assert shape(common) == shape({key: example[key] for key in common_error_members()})
    assert (frame["type"], frame["status"], frame["code"]) == ("error", close - 4000, reason)
    assert set(frame["message"]) == {"zh-CN", "en"}


def refused(session: Any) -> tuple[dict[str, Any], int, str]:
    """The error frame and the close (code, reason) of a refused connect."""
    with session as ws:
        frame = json.loads(ws.receive_text(timeout=5))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text(timeout=5)
    return frame, closed.value.code, str(closed.value.detail)


def token_for(settings: Settings, *, dealer: bool = False, now: datetime | None = None) -> str:
    """An access token signed as the server signs them. A rep's connect reads no rows; a
    dealer's reads its dealer (so it needs the database)."""
    if dealer:
        principal = Principal(user_id=uuid.uuid4(), role=Role.DEALER_ADMIN, dealer_id=uuid.uuid4())
    else:
        principal = Principal(user_id=uuid.uuid4(), role=Role.REP)
    return issue_access_token(settings.auth, principal, now=now)


def frames_until(ws: WebSocketTestSession, wanted: str, seconds: float = 5) -> list[Any]:
    """Frames received until one of type ``wanted`` (that one last)."""
    frames: list[Any] = []
    deadline = time.monotonic() + seconds
    while not frames or frames[-1]["type"] != wanted:
        assert time.monotonic() < deadline, f"no {wanted} frame in {seconds} s: {frames}"
        frames.append(json.loads(ws.receive_text(timeout=seconds)))
    return frames


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """The test database's settings, with heartbeats every 0.2 s."""
    return msgspec.structs.replace(settings, sync_heartbeat_seconds=HEARTBEAT)


@pytest.fixture(scope="module")
async def quiet(tmp_path_factory: pytest.TempPathFactory, fake_wechat: FakeWechat) -> Settings:
    """A migrated SQLite database of its own, for connects that need no rows (a rep's)."""
    folder = tmp_path_factory.mktemp("websocket")
    url = f"sqlite+aiosqlite:///{folder / 'ws.db'}"
    await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
    return make_settings(url, folder, fake_wechat.base_url, sync_heartbeat_seconds=HEARTBEAT)


def test_the_document_lists_the_frames_and_close_codes() -> None:
    assert set(documented_frames()) == {"hello", "poke", "heartbeat", "error"}
    # 1011 is uvicorn's keepalive (``channelhub serve`` pins it); the fault suite meets it
    # on real replicas (tests/faults/test_real_services.py).
    assert set(close_codes()) == {1011, 4401, 4408, 4422, 4426, 4503}
    assert close_codes()[1011].reasons == {"keepalive ping timeout"}
    assert {"type", "status", "code", "message"} <= common_error_members()


async def test_hello_heartbeat_and_poke_have_the_documented_shapes(
    db: Database, fast: Settings
) -> None:
    shop = await make_shop(db, fast)
    documented = documented_frames()
    token = shop.headers["Authorization"].split()[1]
    items = [{"sku": "W-550", "unitPrice": 100}]
    with (
        TestClient(create_app(fast)) as client,
        client.websocket_connect(f"/sync/ws?token={token}&protocol=1") as ws,
    ):
        hello = json.loads(ws.receive_text(timeout=5))
        assert shape(hello) == shape(documented["hello"]), hello
        assert hello["heartbeatInterval"] == HEARTBEAT and "price:default" in hello["scopes"]
        started = time.monotonic()
        beats = frames_until(ws, "heartbeat") + frames_until(ws, "heartbeat")
        assert time.monotonic() - started < 10 * HEARTBEAT
        created = client.post(
            "/hq/price-lists",
            headers=shop.hq,
            json={
                "code": "STD",
                "name": "标准价",
                "scope": "default",
                "priority": 5,
                "items": items,
            },
        )
        assert created.status_code == 201, created.text
        published = client.post(f"/hq/price-lists/{created.json()['id']}/publish", headers=shop.hq)
        assert published.status_code == 200, published.text
        frames = beats + frames_until(ws, "poke")
    for frame in frames:
        assert frame["type"] in documented, frame
        assert shape(frame) == shape(documented[frame["type"]]), frame
    poke = frames[-1]
    assert poke["scope"] in hello["scopes"] and poke["version"] >= 1


async def test_refusals_are_an_error_frame_then_the_documented_close(quiet: Settings) -> None:
    seen: dict[int, set[str]] = {}
    good = token_for(quiet)
    expired = token_for(quiet, now=datetime.now(UTC) - timedelta(days=1))
    with TestClient(create_app(quiet)) as client:
        for query in (
            "?protocol=1",
            "?token=not-a-token&protocol=1",
            f"?token={expired}&protocol=1",
            f"?token={good}&protocol=abc",
            f"?token={good}&protocol=0",
        ):
            frame, close, reason = refused(client.websocket_connect(f"/sync/ws{query}"))
            check_error_frame(frame, close, reason)
            seen.setdefault(close, set()).add(reason)
            if close == 4426:
                assert frame == documented_frames()["error"]  # the example, word for word
    assert seen == {
        4401: {"not_authenticated", "token_invalid", "token_expired"},
        4422: {"invalid_request"},
        4426: {"upgrade_required"},
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_database_blink_and_a_starting_server_close_with_4503(quiet: Settings) -> None:
    # Nothing listens on that port: every connection is refused, as when PostgreSQL is down.
    gone = DatabaseSettings(url=f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/gone")
    down = msgspec.structs.replace(quiet, database=gone)
    with TestClient(create_app(down)) as client:
        frame, close, reason = refused(
            client.websocket_connect(f"/sync/ws?token={token_for(down, dealer=True)}&protocol=1")
        )
    check_error_frame(frame, close, reason)
    assert (close, reason) == (4503, "unavailable")

    release = threading.Event()

    def build() -> Litestar:
        assert release.wait(30)
        return create_app(quiet)

    try:
        with TestClient(WarmingApp(build)) as client:  # type: ignore[arg-type]
            frame, close, reason = refused(
                client.websocket_connect(f"/sync/ws?token={token_for(quiet)}&protocol=1")
            )
            release.set()
    finally:
        release.set()
    check_error_frame(frame, close, reason)
    assert (close, reason) == (4503, "starting")


@asynccontextmanager
async def live_server(app: Litestar) -> AsyncIterator[int]:
    """The app under uvicorn as ``channelhub serve`` runs it (sans-I/O websockets)."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn has no started event
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


@contextmanager
def small_receive_buffer(port: int) -> Iterator[socket.socket]:
    """A connected client socket with a small receive buffer: it fills after a few frames."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    try:
        yield sock
    finally:
        sock.close()


async def test_a_client_that_stops_reading_is_closed_with_4408(quiet: Settings) -> None:
    app = create_app(quiet)
    async with live_server(app) as port:
        hub = app.state.hub
        url = f"ws://127.0.0.1:{port}/sync/ws?token={token_for(quiet)}&protocol=1"
        with small_receive_buffer(port) as sock:
            # max_queue=1: the client library stops reading the socket too.
            async with websockets.connect(url, sock=sock, max_queue=1, compression=None) as ws:
                hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
                scope, version = "price:default", 0
                deadline = time.monotonic() + 25
                while hub.dropped == 0:  # the socket fills, then the hub's send_timeout runs
                    assert time.monotonic() < deadline, "the stuck client was never dropped"
                    version += 1
                    hub.deliver({scope: version})
                    await asyncio.sleep(0 if version % 500 else 0.01)
                frames = []
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    while True:
                        frames.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    documented = {kind: shape(example) for kind, example in documented_frames().items()}
    assert hello["type"] == "hello" and frames
    assert all(shape(frame) == documented[frame["type"]] for frame in frames)
    assert closed.value.rcvd is not None
    code, reason = closed.value.rcvd.code, closed.value.rcvd.reason
    row = close_codes()[code]
    assert code == 4408 and reason in row.reasons and not row.frame
