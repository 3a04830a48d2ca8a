"""Returns through HQ's approval chain: a return the ``return`` flow covers waits for each
step; votes are recorded on the return, the last approval approves it, and the dealer is told
once it is decided (inbox)."""

from __future__ import annotations

from server.db.engine import Database
from server.identity.models import Role
from server.settings import Settings
from tests.approvals.test_chains import Client
from tests.factories import bearer, make_user
from tests.returns.conftest import Shipped, return_body


async def test_a_return_waits_for_each_step_then_is_approved_and_told(
    client: Client, db: Database, settings: Settings, shipped: Shipped
) -> None:
    shop = shipped.shop
    warehouse = await make_user(db, Role.HQ_OPERATOR)
    flow = {
        "steps": [
            {"name": "客服", "approverRole": "hq_admin"},
            {"name": "仓库", "approverIds": [str(warehouse.id)], "reasons": ["refund"]},
            {"name": "换货主管", "approverRole": "hq_admin", "reasons": ["exchange"]},
        ]
    }
    assert (await client.put("/hq/approval-flows/return", json=flow, headers=shop.hq)).is_success
    body = return_body(shipped.order_id, [(0, 2)])
    created = await client.post("/mp/returns/", json=body, headers=shop.headers)
    assert created.status_code == 201, created.text
    run = (await client.get(f"/mp/approvals/return/{body['id']}", headers=shop.headers)).json()
    assert [s["name"] for s in run["steps"]] == ["客服", "仓库"]
    first = await client.post(
        f"/hq/returns/{body['id']}/approve", json={"comment": "照片清楚"}, headers=shop.hq
    )
    assert first.json()["status"] == "requested", first.text
    assert [d["outcome"] for d in first.json()["decisions"]] == ["step_approved"]
    admin_again = await client.post(f"/hq/returns/{body['id']}/approve", json={}, headers=shop.hq)
    assert (admin_again.status_code, admin_again.json()["code"]) == (403, "not_your_step")
    last = await client.post(
        f"/hq/approvals/{run['id']}/approve", json={"step": 1}, headers=bearer(settings, warehouse)
    )
    assert last.json()["status"] == "approved", last.text
    mine = (await client.get(f"/mp/returns/{body['id']}", headers=shop.headers)).json()
    assert mine["status"] == "approved"
    inbox = (await client.get("/mp/inbox", headers=shop.headers)).json()
    kinds = [i["kind"] for i in inbox["items"]]
    assert "return_decided" in kinds
