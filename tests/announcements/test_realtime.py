"""A published announcement pokes its dealers' open WebSockets (the client then pulls)."""

from __future__ import annotations

import json
import time

from litestar.testing import TestClient

from server.app import create_app
from server.db.engine import Database
from server.settings import Settings
from tests.announcements.conftest import Channel, notice


def test_publishing_pokes_the_dealers_it_is_for(
    db: Database, settings: Settings, channel: Channel
) -> None:
    west = channel.users[channel.west_lake.code]["Authorization"].split()[1]
    with (
        TestClient(create_app(settings)) as client,
        client.websocket_connect(f"/sync/ws?token={west}&protocol=1") as ws,
    ):
        hello = json.loads(ws.receive_text(timeout=5))
        assert {"notice:all", "notice:tier:core", "notice:region:330000"} <= set(hello["scopes"])
        assert "notice:tier:growth" not in hello["scopes"]
        body = notice(audience="regions", targets=["330100"])  # 杭州: 西湖区 is inside it
        created = client.post("/hq/announcements", json=body, headers=channel.hq)
        published = client.post(
            f"/hq/announcements/{created.json()['id']}/publish", headers=channel.hq
        )
        assert published.status_code == 200, published.text
        deadline = time.monotonic() + 5
        pokes: list[str] = []
        while "notice:region:330100" not in pokes:
            assert time.monotonic() < deadline, pokes
            frame = json.loads(ws.receive_text(timeout=5))
            if frame["type"] == "poke":
                pokes.append(frame["scope"])
