"""Every example of sync/PROTOCOL.md runs against the app and matches what the server says
(the WebSocket's frames and close codes: ``test_websocket_protocol``).

Each fenced JSON example carries a marker (``<!-- example: NAME -->``); requests are sent as
written, answers are compared with the server's real answers (same members, same outcome).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.db.engine import Database
from server.settings import Settings
from tests.orders.conftest import make_shop

Client = AsyncTestClient[Litestar]
PROTOCOL = Path(__file__).resolve().parents[2] / "sync" / "PROTOCOL.md"
SYNC = {"X-Sync-Protocol": "1"}


def examples() -> dict[str, Any]:
    """Marker name -> the parsed JSON of the fenced block that follows it."""
    text = PROTOCOL.read_text()
    found = re.findall(r"<!-- example: ([\w-]+) -->\s*```json\n(.*?)```", text, re.DOTALL)
    return {name: json.loads(body.replace("…", "")) for name, body in found}


def test_every_json_example_is_marked_and_valid() -> None:
    text = PROTOCOL.read_text()
    blocks = re.findall(r"```json\n(.*?)```", text, re.DOTALL)
    assert len(examples()) >= 10
    for body in blocks:
        json.loads(body.replace("…", "0"))  # every example is JSON a client could send


def same_members(example: dict[str, Any], real: dict[str, Any], where: str) -> None:
    assert set(example) == set(real), f"{where}: documented {sorted(example)}, real {sorted(real)}"


async def test_the_http_examples_run_as_documented(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings)
    docs, headers = examples(), {**shop.headers, **SYNC}
    items = [{"sku": "W-550", "unitPrice": 100}]
    created = await client.post(
        "/hq/price-lists",
        headers=shop.hq,
        json={"code": "STD", "name": "标准价", "scope": "default", "priority": 5, "items": items},
    )
    assert created.status_code == 201, created.text
    publish = await client.post(f"/hq/price-lists/{created.json()['id']}/publish", headers=shop.hq)
    assert publish.status_code == 200, publish.text
    pulled = await client.post("/sync/pull", json=docs["pull-request"], headers=headers)
    assert pulled.status_code == 200, pulled.text
    answer, documented = pulled.json(), docs["pull-answer"]
    same_members(documented, answer, "pull answer")
    same_members(documented["changes"][0], answer["changes"][0], "pull change")
    price = next(c for c in answer["changes"] if c["entity"] == "price")
    same_members(documented["changes"][0]["data"], price["data"], "price data")
    assert set(documented["resets"]) <= set(answer["resets"])

    pushed = await client.post("/sync/push", json=docs["push-request"], headers=headers)
    assert pushed.status_code == 200, pushed.text
    real, documented = pushed.json(), docs["push-answer"]
    same_members(documented, real, "push answer")
    same_members(documented["results"][0], real["results"][0], "push result")
    for member in ("mid", "status", "reason", "replayed"):
        assert real["results"][0][member] == documented["results"][0][member], member
    for member in ("id", "status"):
        assert real["results"][0]["detail"][member] == documented["results"][0]["detail"][member]

    acked = await client.post("/sync/ack", json=docs["ack-request"], headers=headers)
    assert acked.status_code == 204, acked.text

    gap = {
        **docs["push-request"],
        "mutations": [{**docs["push-request"]["mutations"][0], "mid": 9}],
    }
    refused = await client.post("/sync/push", json=gap, headers=headers)
    problem, documented = refused.json(), docs["push-mid-gap"]
    same_members(documented, problem, "mid_gap problem")
    for member in ("type", "status", "code", "instance", "expectedMid"):
        assert problem[member] == documented[member], member
    assert refused.headers["content-type"].startswith("application/problem+json")
