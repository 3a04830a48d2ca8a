"""Two reviewers deciding one claim: the decision names the version it saw; the second loses."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.db.engine import Database
from server.settings import Settings
from tests.claims.conftest import FakeReader, noise_image
from tests.claims.test_claims import (  # noqa: F401 (setup is a fixture)
    Headers,
    new_claim,
    promotion,
    setup,
    submit_and_run,
    upload,
)


async def test_a_decision_on_a_changed_claim_is_refused(
    client: AsyncTestClient[Litestar],
    db: Database,
    settings: Settings,
    reader: FakeReader,
    setup: tuple[Headers, Headers],  # noqa: F811 (the fixture imported above)
) -> None:
    hq, dealer = setup
    promo = await promotion(client, hq, mechanic={"autoApproveLimit": 1000})
    claim = await new_claim(client, dealer, promo)
    await upload(client, dealer, claim, reader.register(noise_image(71), receipt_no="V-1"))
    seen = await submit_and_run(client, dealer, claim, db, settings, reader)
    assert seen["status"] == "review"
    first = await client.post(
        f"/hq/claims/{claim['id']}/reject",
        json={"comment": "模糊", "version": seen["version"]},
        headers=hq,
    )
    assert first.status_code == 200, first.text
    second = await client.post(
        f"/hq/claims/{claim['id']}/approve", json={"version": seen["version"]}, headers=hq
    )
    assert second.status_code == 409
    assert second.json()["code"] == "claim_changed"
    after = (await client.get(f"/hq/claims/{claim['id']}", headers=hq)).json()
    assert after["status"] == "rejected"
    assert [e["kind"] for e in after["history"]].count("rejected") == 1
    assert "approved" not in [e["kind"] for e in after["history"]]
    assert (await client.get("/mp/accounts", headers=dealer)).json()["rebate"] == 0
