"""Claims held for review go through HQ's claim approval chain: each HQ decision is a vote on
the current step, only the last approval pays, a rejection at any step rejects; claims the
rules decide on their own never wait for it."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.db.engine import Database
from server.identity.models import Role
from server.settings import Settings
from tests.claims.conftest import FakeReader, noise_image
from tests.claims.test_claims import (
    Headers,
    balance,
    new_claim,
    promotion,
    setup,
    submit_and_run,
    upload,
)
from tests.factories import bearer, make_user

__all__ = ["setup"]  # the fixture, used by name

Client = AsyncTestClient[Litestar]


async def held_claim(
    client: Client,
    db: Database,
    settings: Settings,
    reader: FakeReader,
    dealer: Headers,
    promo: dict[str, object],
    seed: int,
) -> dict[str, object]:
    claim = await new_claim(client, dealer, promo)
    image = reader.register(noise_image(seed), receipt_no=f"C-{seed}")
    assert (await upload(client, dealer, claim, image)).status_code == 200
    decided = await submit_and_run(client, dealer, claim, db, settings, reader)
    assert decided["status"] == "review", decided["reasons"]
    return decided


async def test_a_claim_above_the_amount_waits_for_each_step_and_pays_once(
    client: Client,
    db: Database,
    settings: Settings,
    reader: FakeReader,
    setup: tuple[Headers, Headers],
) -> None:
    hq, dealer = setup
    finance_user = await make_user(db, Role.HQ_OPERATOR)
    finance = bearer(settings, finance_user)
    flow = {
        "steps": [
            {"name": "市场部", "approverRole": "hq_admin", "minAmount": 3000},
            {"name": "财务", "approverIds": [str(finance_user.id)], "minAmount": 4000},
        ]
    }
    assert (await client.put("/hq/approval-flows/claim", json=flow, headers=hq)).status_code == 200
    promo = await promotion(client, hq, mechanic={"autoApproveLimit": 1000})
    claim = await held_claim(client, db, settings, reader, dealer, promo, 71)
    seen = await client.get(f"/mp/approvals/claim/{claim['id']}", headers=dealer)
    assert [s["name"] for s in seen.json()["steps"]] == ["市场部", "财务"]
    before = await balance(client, dealer)
    first = await client.post(f"/hq/claims/{claim['id']}/approve", json={}, headers=hq)
    assert (first.status_code, first.json()["status"]) == (200, "review")
    assert await balance(client, dealer) == before  # not paid before the last step
    not_yours = await client.post(f"/hq/claims/{claim['id']}/approve", json={}, headers=hq)
    assert (not_yours.status_code, not_yours.json()["code"]) == (403, "not_your_step")
    task = seen.json()["id"]
    last = await client.post(
        f"/hq/approvals/{task}/approve", json={"comment": "核对无误", "step": 1}, headers=finance
    )
    assert last.status_code == 200, last.text
    assert last.json()["status"] == "approved"
    detail = (await client.get(f"/mp/claims/{claim['id']}", headers=dealer)).json()
    assert detail["status"] == "approved"
    assert await balance(client, dealer) == before + int(str(detail["amount"]))


async def test_a_rejection_at_the_first_step_rejects_the_claim(
    client: Client,
    db: Database,
    settings: Settings,
    reader: FakeReader,
    setup: tuple[Headers, Headers],
) -> None:
    hq, dealer = setup
    operator = bearer(settings, await make_user(db, Role.HQ_OPERATOR))
    flow = {"steps": [{"name": "运营", "approverRole": "hq_operator"}]}
    assert (await client.put("/hq/approval-flows/claim", json=flow, headers=hq)).status_code == 200
    promo = await promotion(client, hq, mechanic={"autoApproveLimit": 1000})
    claim = await held_claim(client, db, settings, reader, dealer, promo, 72)
    admin = await client.post(
        f"/hq/claims/{claim['id']}/reject", json={"comment": "不符"}, headers=hq
    )
    assert (admin.status_code, admin.json()["code"]) == (403, "not_your_step")
    bare = await client.post(f"/hq/claims/{claim['id']}/reject", json={}, headers=operator)
    assert (bare.status_code, bare.json()["code"]) == (422, "comment_required")
    said = await client.post(
        f"/hq/claims/{claim['id']}/reject", json={"comment": "小票与陈列不符"}, headers=operator
    )
    assert said.json()["status"] == "rejected"
    seen = (await client.get(f"/mp/approvals/claim/{claim['id']}", headers=dealer)).json()
    assert seen["status"] == "rejected" and seen["votes"][0]["comment"] == "小票与陈列不符"
    # a claim the rules approve on their own never waits for the chain
    auto = await promotion(client, hq, code="SO2")
    quick = await new_claim(client, dealer, auto)
    image = reader.register(noise_image(73), receipt_no=f"C-{uuid.uuid4().hex[:6]}")
    assert (await upload(client, dealer, quick, image)).status_code == 200
    decided = await submit_and_run(client, dealer, quick, db, settings, reader)
    assert decided["status"] == "approved"
    none = await client.get(f"/mp/approvals/claim/{quick['id']}", headers=dealer)
    assert none.status_code == 404
