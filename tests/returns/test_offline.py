"""``return.create`` through ``POST /sync/push``: applied, replayed by business key, refused
with a reason code, and the return's state published to the dealer's scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from server.db.engine import Database
from server.returns.models import ReturnRequest
from tests.orders.test_mutations import SYNC, Client
from tests.returns.conftest import Shipped, return_body


def mutation(mid: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"mid": mid, "name": "return.create", "args": body, "businessKey": body["id"]}


async def push(
    client: Client, shipped: Shipped, *mutations: dict[str, Any], device: str = "a"
) -> list[dict]:
    client_id = f"dev-{shipped.shop.dealer.code}-{device}"
    response = await client.post(
        "/sync/push",
        json={"clientId": client_id, "mutations": list(mutations)},
        headers={**shipped.shop.headers, **SYNC},
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def test_offline_return_applied_replayed_refused_and_published(
    client: Client, db: Database, shipped: Shipped
) -> None:
    body = return_body(shipped.order_id, [(0, 4)], reason="expired")
    [applied] = await push(client, shipped, mutation(1, body))
    assert applied["status"] == "applied", applied
    assert applied["detail"]["status"] == "requested"
    # The same business key from a reinstalled client (new mids): the stored result.
    [again] = await push(client, shipped, mutation(1, body), device="reinstalled")
    assert again["replayed"] is True and again["detail"]["id"] == body["id"]
    too_many = return_body(shipped.order_id, [(0, 7)])
    [refused] = await push(client, shipped, mutation(2, too_many))
    assert (refused["status"], refused["reason"]) == ("rejected", "return_exceeds_shipped")
    assert refused["detail"]["messageZh"] and refused["detail"]["message"]
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(ReturnRequest)) == 1
    # HQ approves; the dealer's next pull carries the return's new state.
    await client.post(f"/hq/returns/{body['id']}/approve", json={}, headers=shipped.shop.hq)
    pulled = await client.post(
        "/sync/pull",
        json={"cursor": {}, "clientId": f"dev-{shipped.shop.dealer.code}-a"},
        headers={**shipped.shop.headers, **SYNC},
    )
    changes = [c for c in pulled.json()["changes"] if c["entity"] == "return"]
    assert changes and changes[-1]["key"] == body["id"]
    assert changes[-1]["data"]["status"] == "approved"
