"""One claim read by the real OCR engine (in the job's OCR thread) and decided."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from ocr.synth import available_fonts, generate
from server.app import job_registry
from server.db.engine import Database
from server.identity.models import Role
from server.jobs.queue import JobRunner
from server.settings import Settings
from tests.claims.test_claims import dealer_headers, new_claim, storage_of, upload
from tests.factories import bearer, make_sku, make_user

Client = AsyncTestClient[Litestar]


@pytest.mark.slow
async def test_a_synthetic_receipt_is_read_and_approved(
    client: Client, db: Database, settings: Settings, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("the OCR path does not depend on the database; once is enough")
    if not available_fonts():
        pytest.skip("no CJK font for the synthetic receipt")
    receipt = generate(7, degrade=False, language="zh")
    item = receipt.labels.items[0]
    await make_sku(db, "MASK10", name=item.name)
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    created = await client.post(
        "/hq/promotions",
        json={
            "code": "SO-MASK",
            "name": "口罩核销",
            "mechanic": {"kind": "sell_out", "amount": 2000, "autoApproveLimit": 5000},
            "eligibility": {"skus": ["MASK10"]},
        },
        headers=hq,
    )
    assert created.status_code == 201, created.text
    promo = created.json()
    await client.post(f"/hq/promotions/{promo['id']}/publish", headers=hq)
    dealer = await dealer_headers(db, settings)
    claim = await new_claim(client, dealer, promo)
    assert (await upload(client, dealer, claim, receipt.image)).status_code == 200
    assert (
        await client.post(f"/mp/claims/{claim['id']}/submit", headers=dealer)
    ).status_code == 200
    await JobRunner(db, job_registry(storage_of(settings))).drain()
    detail = (await client.get(f"/mp/claims/{claim['id']}", headers=dealer)).json()
    [scanned] = detail["receipts"]
    assert scanned["fields"]["total"] == receipt.labels.total
    assert scanned["boxes"] and scanned["fingerprint"]
    assert detail["status"] == "approved", detail["reasons"]
