"""Approval chains (审批流): HQ's steps for orders (role or named approvers, any or all,
conditions), votes step by step with who, when and the document's hash, the dealer seeing
where its order waits and why, rejections, withdrawal, bad flows and racing approvers."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from server.db.engine import Database
from server.identity.models import Role
from server.settings import Settings
from server.trail.models import DecisionEntry
from tests.factories import bearer, make_user
from tests.orders.conftest import Shop, make_shop

Client = AsyncTestClient[Litestar]
BIG = [{"sku": "TEA", "qty": 5}]  # 1995 fen
SMALL = [{"sku": "W-550", "qty": 2}]  # 200 fen


@dataclass
class Desk:
    shop: Shop
    operator: dict[str, str]
    finance: list[tuple[uuid.UUID, dict[str, str]]]


@pytest.fixture
async def desk(db: Database, settings: Settings) -> Desk:
    shop = await make_shop(db, settings)
    operator = await make_user(db, Role.HQ_OPERATOR)
    finance = [await make_user(db, Role.HQ_OPERATOR) for _ in range(2)]
    return Desk(
        shop=shop,
        operator=bearer(settings, operator),
        finance=[(u.id, bearer(settings, u)) for u in finance],
    )


def chain(desk: Desk, **first: Any) -> dict[str, Any]:
    return {
        "steps": [
            {"name": "区域经理", "approverRole": "hq_operator", "minAmount": 1000, **first},
            {
                "name": "财务",
                "approverIds": [str(i) for i, _ in desk.finance],
                "mode": "all",
                "tiers": ["core"],
            },
        ]
    }


async def set_flow(client: Client, desk: Desk, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.put("/hq/approval-flows/order", json=body, headers=desk.shop.hq)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def place(client: Client, shop: Shop, lines: list[dict[str, Any]]) -> dict[str, Any]:
    body = {"id": str(uuid.uuid4()), "lines": lines}
    answer = await client.post("/mp/orders", json=body, headers=shop.headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def where(client: Client, shop: Shop, order_id: str) -> dict[str, Any]:
    answer = await client.get(f"/mp/approvals/order/{order_id}", headers=shop.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_an_order_goes_through_every_step_that_applies(
    client: Client, db: Database, desk: Desk
) -> None:
    shop = desk.shop
    await set_flow(client, desk, chain(desk))
    small = await place(client, shop, SMALL)  # below the first step's amount: only finance
    assert small["status"] == "submitted"
    assert small["reviewReasons"] == ["approval_chain"]
    big = await place(client, shop, BIG)
    assert big["reviewReasons"] == ["approval_chain"]
    seen = await where(client, shop, big["id"])
    assert [s["state"] for s in seen["steps"]] == ["waiting", "later"]
    assert "区域经理" in seen["waitingZh"] and "¥10.00" in seen["waitingZh"]
    assert "amount ≥ ¥10.00" in seen["waitingEn"]
    assert [s["name"] for s in (await where(client, shop, small["id"]))["steps"]] == ["财务"]

    admin = await client.post(f"/hq/orders/{big['id']}/approve", json={}, headers=shop.hq)
    assert (admin.status_code, admin.json()["code"]) == (403, "not_your_step")
    first = await client.post(f"/hq/orders/{big['id']}/approve", json={}, headers=desk.operator)
    assert (first.status_code, first.json()["status"]) == (200, "submitted")
    again = await client.post(f"/hq/orders/{big['id']}/approve", json={}, headers=desk.operator)
    assert (again.status_code, again.json()["code"]) == (403, "not_your_step")  # step 2 now

    waiting = (await client.get("/hq/approvals", headers=desk.finance[0][1])).json()
    task = next(t for t in waiting if t["documentId"] == big["id"])
    assert task["current"] == 1 and len(task["votes"]) == 1
    assert (await client.get("/hq/approvals", headers=desk.operator)).json() == []
    url = f"/hq/approvals/{task['id']}/approve"
    stale = await client.post(url, json={"step": 0}, headers=desk.finance[0][1])
    assert (stale.status_code, stale.json()["code"]) == (409, "approval_step_moved")
    changed = await client.post(url, json={"contentHash": "0" * 64}, headers=desk.finance[0][1])
    assert (changed.status_code, changed.json()["code"]) == (409, "document_changed")
    one = await client.post(url, json={"comment": "款已到", "step": 1}, headers=desk.finance[0][1])
    assert one.status_code == 200, one.text
    assert one.json()["status"] == "pending"
    assert "1 so far" in one.json()["waitingEn"]
    twice = await client.post(url, json={}, headers=desk.finance[0][1])
    assert (twice.status_code, twice.json()["code"]) == (409, "already_voted")
    two = await client.post(url, json={}, headers=desk.finance[1][1])
    assert two.json()["status"] == "approved"
    order = (await client.get(f"/mp/orders/{big['id']}", headers=shop.headers)).json()
    assert order["status"] == "approved"
    done = await where(client, shop, big["id"])
    assert [s["state"] for s in done["steps"]] == ["done", "done"]
    assert [(v["step"], v["outcome"]) for v in done["votes"]] == [
        (0, "approved"),
        (1, "approved"),
        (1, "approved"),
    ]
    assert all(v["contentHash"] == done["contentHash"] for v in done["votes"])
    async with db.session() as s:
        stmt = (
            select(DecisionEntry.outcome)
            .where(DecisionEntry.document_id == big["id"])
            .order_by(DecisionEntry.seq)
        )
        outcomes = list((await s.execute(stmt)).scalars())
    assert outcomes == ["step_approved", "step_approved", "step_approved", "approved"]


async def test_no_step_applies_or_steps_switched_off_approve_at_once(
    client: Client, desk: Desk
) -> None:
    await set_flow(client, desk, {"steps": [{**chain(desk)["steps"][0], "enabled": False}]})
    assert (await place(client, desk.shop, BIG))["status"] == "approved"
    await set_flow(client, desk, {"steps": [chain(desk)["steps"][0]]})
    assert (await place(client, desk.shop, SMALL))["status"] == "approved"
    flows = (await client.get("/hq/approval-flows", headers=desk.shop.hq)).json()
    assert [f["documentType"] for f in flows][:2] == ["order", "return"]


async def test_a_rejection_at_any_step_rejects_and_releases(client: Client, desk: Desk) -> None:
    shop = desk.shop
    await set_flow(client, desk, chain(desk))
    order = await place(client, shop, BIG)
    task = (await where(client, shop, order["id"]))["id"]
    bare = await client.post(f"/hq/approvals/{task}/reject", json={}, headers=desk.operator)
    assert (bare.status_code, bare.json()["code"]) == (422, "comment_required")
    said = {"comment": "窜货嫌疑，请说明"}
    rejected = await client.post(f"/hq/approvals/{task}/reject", json=said, headers=desk.operator)
    assert rejected.json()["status"] == "rejected"
    detail = (await client.get(f"/mp/orders/{order['id']}", headers=shop.headers)).json()
    assert detail["status"] == "rejected"
    balances = (await client.get("/mp/accounts", headers=shop.headers)).json()
    assert balances["held"] == 0
    late = await client.post(f"/hq/approvals/{task}/approve", json={}, headers=desk.finance[0][1])
    assert (late.status_code, late.json()["code"]) == (409, "approval_already_decided")


async def test_a_cancelled_order_ends_its_run(client: Client, desk: Desk) -> None:
    shop = desk.shop
    await set_flow(client, desk, chain(desk))
    order = await place(client, shop, BIG)
    cancel = await client.post(f"/mp/orders/{order['id']}/cancel", json={}, headers=shop.headers)
    assert cancel.json()["status"] == "cancelled"
    seen = await where(client, shop, order["id"])
    assert seen["status"] == "cancelled"
    assert "撤回" in seen["waitingZh"]
    assert (await client.get("/hq/approvals", headers=desk.operator)).json() == []


async def test_bad_flows_are_refused_and_change_nothing(
    client: Client, db: Database, settings: Settings, desk: Desk
) -> None:
    dealer_user = (desk.shop.user.id, desk.shop.headers)
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"name": "x", "approverRole": "hq_admin", "approverIds": [str(uuid.uuid4())]},
            "approval_step_invalid",
        ),
        ({"name": "x"}, "approval_step_invalid"),
        ({"name": "x", "approverRole": "hq_admin", "mode": "all"}, "approval_step_invalid"),
        (
            {"name": "x", "approverRole": "hq_admin", "minAmount": 5, "maxAmount": 1},
            "approval_step_invalid",
        ),
        ({"name": "x", "approverIds": [str(uuid.uuid4())]}, "approver_unknown"),
        ({"name": "x", "approverIds": [str(dealer_user[0])]}, "approver_unknown"),
        ({"name": "x\x00", "approverRole": "hq_admin"}, "request_invalid"),
        ({"name": "x", "approverRole": "dealer_admin"}, "request_invalid"),
        ({"name": "x", "approverRole": "hq_admin", "regions": ["杭州"]}, "request_invalid"),
    ]
    for step, code in cases:
        answer = await client.put(
            "/hq/approval-flows/order", json={"steps": [step]}, headers=desk.shop.hq
        )
        assert (answer.status_code, answer.json()["code"]) == (422, code), step
    eleven = {"steps": [{"name": f"s{i}", "approverRole": "hq_admin"} for i in range(11)]}
    too_many = await client.put("/hq/approval-flows/order", json=eleven, headers=desk.shop.hq)
    assert too_many.status_code == 422
    twice = {"steps": [{"name": "s", "approverRole": "hq_admin"}] * 2}
    assert (
        await client.put("/hq/approval-flows/order", json=twice, headers=desk.shop.hq)
    ).status_code == 422
    operator = await client.put(
        "/hq/approval-flows/order", json={"steps": []}, headers=desk.operator
    )
    assert operator.status_code == 403
    unknown = await client.put(
        "/hq/approval-flows/invoice", json={"steps": []}, headers=desk.shop.hq
    )
    assert unknown.status_code in (400, 404, 422)
    flows = (await client.get("/hq/approval-flows", headers=desk.shop.hq)).json()
    assert all(f["steps"] == [] for f in flows)
    other = await make_shop(db, settings, with_world=False)
    await set_flow(client, desk, chain(desk))
    order = await place(client, desk.shop, BIG)
    peek = await client.get(f"/mp/approvals/order/{order['id']}", headers=other.headers)
    assert peek.status_code == 404


async def test_racing_approvers_move_a_step_once(client: Client, desk: Desk) -> None:
    shop = desk.shop
    body = {"steps": [{"name": "任一财务", "approverIds": [str(i) for i, _ in desk.finance]}]}
    body["steps"].append({"name": "运营", "approverRole": "hq_operator"})
    await set_flow(client, desk, body)
    order = await place(client, shop, BIG)
    task = (await where(client, shop, order["id"]))["id"]

    async def approve(headers: dict[str, str]) -> int:
        answer = await client.post(
            f"/hq/approvals/{task}/approve", json={"step": 0}, headers=headers
        )
        return answer.status_code

    codes = await asyncio.gather(*(approve(h) for _, h in desk.finance))
    assert sorted(codes) == [200, 409]
    seen = await where(client, shop, order["id"])
    assert seen["current"] == 1 and len(seen["votes"]) == 1
    assert (await client.get(f"/mp/orders/{order['id']}", headers=shop.headers)).json()[
        "status"
    ] == "submitted"


async def test_the_rules_automatic_approvals_apply_are_in_the_trail(
    client: Client, db: Database, desk: Desk
) -> None:
    await set_flow(client, desk, chain(desk))
    threshold = await client.put(
        "/hq/order-settings/approval-threshold",
        json={"approvalThreshold": 123_400},
        headers=desk.shop.hq,
    )
    assert threshold.status_code == 200, threshold.text
    async with db.session() as s:
        stmt = select(DecisionEntry.document_type, DecisionEntry.document_id, DecisionEntry.outcome)
        rows = set((await s.execute(stmt)).all())
    assert ("approval_flow", "order", "replaced") in rows
    assert ("order_settings", "approval_threshold", "set") in rows
