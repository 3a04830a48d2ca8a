"""Credit limit changes (授信) through HQ's approval chain: set at once when no step applies,
else requested and set by the last approval; the direct route cannot step around the chain."""

from __future__ import annotations

from sqlalchemy import select

from server.db.engine import Database
from server.identity.models import Role
from server.settings import Settings
from server.trail.models import DecisionEntry
from tests.approvals.test_chains import Client
from tests.factories import bearer, make_user
from tests.orders.conftest import make_shop


async def test_a_raise_above_the_amount_waits_for_the_chain(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await make_shop(db, settings)
    risk = await make_user(db, Role.HQ_OPERATOR)
    flow = {
        "steps": [
            {
                "name": "风控",
                "approverIds": [str(risk.id)],
                "minAmount": 1_000_000,
                "reasons": ["increase"],
            }
        ]
    }
    put = await client.put("/hq/approval-flows/credit_limit", json=flow, headers=shop.hq)
    assert put.status_code == 200, put.text
    base = f"/hq/dealers/{shop.dealer.id}/accounts"
    small = await client.put(
        f"{base}/credit-limit", json={"limit": 500_000, "reason": "季度授信"}, headers=shop.hq
    )
    assert (small.status_code, small.json()["creditLimit"]) == (200, 500_000)
    big = {"limit": 2_000_000, "reason": "旺季备货"}
    direct = await client.put(f"{base}/credit-limit", json=big, headers=shop.hq)
    assert (direct.status_code, direct.json()["code"]) == (409, "credit_limit_needs_approval")
    asked = await client.post(f"{base}/credit-limit-requests", json=big, headers=shop.hq)
    assert asked.status_code == 200, asked.text
    assert asked.json()["applied"] is False
    task = asked.json()["approval"]
    assert "风控" in task["waitingZh"] and "increase" in task["waitingEn"]
    twice = await client.post(f"{base}/credit-limit-requests", json=big, headers=shop.hq)
    assert (twice.status_code, twice.json()["code"]) == (409, "credit_limit_request_pending")
    balances = (await client.get(f"{base}/", headers=shop.hq)).json()
    assert balances["creditLimit"] == 500_000  # not before the approval
    admin = await client.post(f"/hq/approvals/{task['id']}/approve", json={}, headers=shop.hq)
    assert (admin.status_code, admin.json()["code"]) == (403, "not_your_step")
    approved = await client.post(
        f"/hq/approvals/{task['id']}/approve",
        json={"comment": "核实销量", "contentHash": task["contentHash"]},
        headers=bearer(settings, risk),
    )
    assert approved.json()["status"] == "approved"
    assert (await client.get(f"{base}/", headers=shop.hq)).json()["creditLimit"] == 2_000_000
    lower = await client.post(
        f"{base}/credit-limit-requests",
        json={"limit": 100_000, "reason": "回款慢"},
        headers=shop.hq,
    )
    assert lower.json()["applied"] is True  # a decrease takes no step
    async with db.session() as s:
        stmt = (
            select(DecisionEntry.outcome, DecisionEntry.actor_id)
            .where(DecisionEntry.document_type == "credit_limit")
            .order_by(DecisionEntry.seq)
        )
        entries = list((await s.execute(stmt)).all())
    assert [o for o, _ in entries] == ["changed", "step_approved", "changed", "changed"]
    assert entries[2][1] == risk.id  # the raise was set by its approver
