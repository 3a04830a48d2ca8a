"""Quote discounts through HQ's approval chain: a quote sent for approval waits for each step
that applies (here: a line discount beyond the tier's limit), the last approval approves it."""

from __future__ import annotations

from server.db.engine import Database
from server.identity.models import Role
from server.settings import Settings
from tests.approvals.test_chains import Client
from tests.factories import bearer, make_user
from tests.server.test_quotes import _setup  # pyright: ignore[reportPrivateUsage]


async def test_a_deep_discount_waits_for_each_step(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer, operator = await _setup(db, settings)
    admin = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    limits = {"lineDiscountBp": 500, "quoteDiscountBp": 300}
    assert (await client.put("/hq/quote-thresholds/core", json=limits, headers=admin)).is_success
    flow = {
        "steps": [
            {"name": "销售总监", "approverRole": "hq_operator"},
            {
                "name": "总经理",
                "approverRole": "hq_admin",
                "reasons": ["line_discount_above_limit"],
            },
            {"name": "大额", "approverRole": "hq_admin", "minAmount": 10**9},
        ]
    }
    put = await client.put("/hq/approval-flows/quote_discount", json=flow, headers=admin)
    assert put.status_code == 200, put.text
    body = {"lines": [{"sku": "A", "qty": 10, "requestedUnitPrice": 800}]}
    quote = (await client.post("/mp/quotes", json=body, headers=dealer)).json()
    qid = quote["id"]
    sent = await client.post(f"/mp/quotes/{qid}/request-approval", json={}, headers=dealer)
    assert sent.json()["status"] == "pending_approval"
    run = await client.get(f"/mp/approvals/quote_discount/{qid}", headers=dealer)
    assert [s["name"] for s in run.json()["steps"]] == ["销售总监", "总经理"]  # not the big one
    early = await client.post(f"/hq/quotes/{qid}/approve", json={}, headers=admin)
    assert (early.status_code, early.json()["code"]) == (403, "not_your_step")
    first = await client.post(f"/hq/quotes/{qid}/approve", json={}, headers=operator)
    assert first.json()["status"] == "pending_approval"
    task = run.json()["id"]
    last = await client.post(
        f"/hq/approvals/{task}/approve", json={"comment": "战略客户", "step": 1}, headers=admin
    )
    assert last.json()["status"] == "approved", last.text
    detail = (await client.get(f"/mp/quotes/{qid}", headers=dealer)).json()
    assert detail["status"] == "approved"
    accepted = await client.post(f"/mp/quotes/{qid}/accept", headers=dealer)
    assert accepted.json()["status"] == "converted"
