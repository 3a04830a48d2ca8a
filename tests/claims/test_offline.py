"""Offline claims through sync push; pilots; rebate accrual."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.db.engine import Database
from server.db.session import transaction
from server.identity.models import Role
from server.promotions.models import Promotion
from server.promotions.pilots import pilot_group
from server.promotions.rebates import accrue_rebates
from server.settings import Settings
from tests.claims.conftest import FakeReader, noise_image
from tests.claims.test_claims import balance, promotion, run_jobs
from tests.factories import bearer, make_dealer, make_sku, make_user

Client = AsyncTestClient[Litestar]
SYNC = {"X-Sync-Protocol": "1"}


async def test_a_rep_pushes_a_claim_offline_and_it_is_decided(
    client: Client, db: Database, settings: Settings, reader: FakeReader
) -> None:
    await make_sku(db, "W550")
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    promo = await promotion(client, hq)
    shop = await make_dealer(db)
    rep = {**SYNC, **bearer(settings, await make_user(db, Role.REP))}
    claim_id, receipt_id = str(uuid.uuid4()), str(uuid.uuid4())
    form = None

    async def push(mid: int, name: str, args: dict[str, object]) -> dict[str, object]:
        response = await client.post(
            "/sync/push",
            json={
                "clientId": "rep-phone",
                "mutations": [
                    {
                        "mid": mid,
                        "name": name,
                        "args": args,
                        "businessKey": f"{name}:{mid}:{claim_id}",
                    }
                ],
            },
            headers=rep,
        )
        assert response.status_code == 200, response.text
        return response.json()["results"][0]

    created = await push(
        1, "claim.create", {"id": claim_id, "promotionId": promo["id"], "dealerId": str(shop.id)}
    )
    assert created["status"] == "applied", created
    missing = await push(
        2, "claim.attach_receipt", {"claimId": claim_id, "receiptId": receipt_id, "submit": True}
    )
    assert (missing["status"], missing["reason"]) == ("rejected", "upload_missing")
    form = await client.post(
        f"/mp/claims/{claim_id}/receipts/presign",
        json={"receiptId": receipt_id, "contentType": "image/png"},
        headers=rep,
    )
    assert form.status_code == 200, form.text
    posted = await client.post(
        "/storage/upload",
        data=form.json()["fields"],
        files={"file": ("r.png", reader.register(noise_image(70)), "image/png")},
    )
    assert posted.status_code == 204
    attached = await push(
        3, "claim.attach_receipt", {"claimId": claim_id, "receiptId": receipt_id, "submit": True}
    )
    assert attached["status"] == "applied", attached
    await run_jobs(db, settings, reader)
    detail = await client.get(f"/mp/claims/{claim_id}", headers=rep)
    assert detail.json()["status"] == "approved"
    pulled = await client.post(
        "/sync/pull", json={"cursor": {}, "clientId": "rep-phone"}, headers=rep
    )
    claims = [c for c in pulled.json()["changes"] if c["entity"] == "claim"]
    assert claims[-1]["data"]["status"] == "approved"


async def test_pilot_split_and_report(client: Client, db: Database, settings: Settings) -> None:
    await make_sku(db, "W550")
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    dealers = [await make_dealer(db) for _ in range(40)]
    promo = await promotion(client, hq, pilotShareBp=5000)
    async with db.session() as s:
        row = await s.get(Promotion, uuid.UUID(promo["id"]))
    assert row is not None
    groups = {d.id: pilot_group(row, d.id) for d in dealers}
    test = [d for d, g in groups.items() if g == "test"]
    assert 8 < len(test) < 32
    claimable = await client.get(
        "/mp/promotions/claimable",
        headers=bearer(
            settings,
            await make_user(
                db, Role.DEALER_ADMIN, dealer=next(d for d in dealers if groups[d.id] == "control")
            ),
        ),
    )
    assert claimable.json() == []
    report = await client.get(f"/hq/promotions/{promo['id']}/pilot-report", headers=hq)
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["test"]["dealers"], body["control"]["dealers"]) == (len(test), 40 - len(test))
    assert body["source"] == "orders"


async def test_rebate_promotions_accrue_once_per_order(
    client: Client, db: Database, settings: Settings
) -> None:
    await make_sku(db, "W550")
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    dealer = await make_dealer(db)
    mp = bearer(settings, await make_user(db, Role.DEALER_ADMIN, dealer=dealer))
    created = await client.post(
        "/hq/promotions",
        json={
            "code": "RB3",
            "name": "返利 3%",
            "mechanic": {"kind": "rebate", "shareBp": 300},
            "eligibility": {"skus": ["W550"]},
            "budget": {"amount": 100000},
        },
        headers=hq,
    )
    await client.post(f"/hq/promotions/{created.json()['id']}/publish", headers=hq)
    now = datetime.now(UTC) + timedelta(seconds=1)
    for _ in range(2):
        async with transaction(db) as s:
            accrued = await accrue_rebates(
                s, dealer.id, "order-1", {"W550": 12345, "OTHER": 9999}, now
            )
        assert accrued == {"RB3": 370}  # 3% of 123.45 = 3.7035 -> 3.70
    assert await balance(client, mp) == 370
