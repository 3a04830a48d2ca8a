"""A claim is decided once: a retried or duplicated ``claims.scan`` job changes nothing after.

Counts effects, not only the status: decision events, journal entries and budget use. A job
that passed the first status check before another job decided the claim reaches the decision
itself (``decide_claim``) and must find the claim decided under its row lock.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from server.accounts.models import JournalEntry
from server.claims.models import Claim, ClaimEvent
from server.claims.scanning import decide_claim, process_claim
from server.db.engine import Database
from server.db.session import transaction
from server.identity.models import Role
from server.jobs.queue import enqueue
from server.promotions.models import PromotionBudget
from server.settings import Settings
from tests.claims.conftest import FakeReader, noise_image
from tests.claims.test_claims import (
    dealer_headers,
    new_claim,
    promotion,
    run_jobs,
    storage_of,
    submit_and_run,
    upload,
)
from tests.factories import bearer, make_sku, make_user

Client = AsyncTestClient[Litestar]
Headers = dict[str, str]


@pytest.fixture
async def actors(client: Client, db: Database, settings: Settings) -> tuple[Headers, Headers]:
    await make_sku(db, "W550")
    hq = bearer(settings, await make_user(db, Role.HQ_ADMIN))
    return hq, await dealer_headers(db, settings)


async def _effects(db: Database, claim_id: uuid.UUID) -> dict[str, Any]:
    async with db.session() as s:
        decided = (
            await s.execute(
                select(func.count())
                .select_from(ClaimEvent)
                .where(ClaimEvent.claim_id == claim_id, ClaimEvent.kind == "decided")
            )
        ).scalar_one()
        entries = (
            await s.execute(
                select(func.count())
                .select_from(JournalEntry)
                .where(JournalEntry.reference == f"claim:{claim_id}")
            )
        ).scalar_one()
        used = (
            await s.execute(select(PromotionBudget.used_amount, PromotionBudget.used_count))
        ).all()
        claim = await s.get(Claim, claim_id)
        assert claim is not None
        return {
            "decided_events": decided,
            "journal_entries": entries,
            "budget_used": [tuple(u) for u in used],
            "status": claim.status,
            "decided_at": claim.decided_at,
        }


async def _rerun_everything(
    db: Database, settings: Settings, reader: FakeReader, claim_id: uuid.UUID
) -> None:
    """The job queued again, the job body run concurrently, and the decision step alone."""
    async with transaction(db) as s:
        await enqueue(s, "claims.scan", {"claim_id": str(claim_id)})
    await run_jobs(db, settings, reader)
    storage = storage_of(settings)
    await asyncio.gather(*(process_claim(db, storage, reader, claim_id) for _ in range(2)))
    for _ in range(2):  # a job that passed the first check before the other one decided
        async with transaction(db) as s:
            await decide_claim(s, claim_id)


async def test_an_approved_claim_is_not_decided_or_paid_again(
    client: Client,
    db: Database,
    settings: Settings,
    reader: FakeReader,
    actors: tuple[Headers, Headers],
) -> None:
    hq, dealer = actors
    promo = await promotion(client, hq, budget={"amount": 20000})
    claim = await new_claim(client, dealer, promo)
    data = reader.register(noise_image(11), receipt_no="D-1")
    assert (await upload(client, dealer, claim, data)).status_code == 200
    decided = await submit_and_run(client, dealer, claim, db, settings, reader)
    assert decided["status"] == "approved", decided["reasons"]
    claim_id = uuid.UUID(claim["id"])
    first = await _effects(db, claim_id)
    assert (first["decided_events"], first["journal_entries"]) == (1, 1)
    assert first["budget_used"] == [(5000, 1)]

    await _rerun_everything(db, settings, reader, claim_id)

    assert await _effects(db, claim_id) == first


async def test_a_rejected_claim_is_not_decided_again(
    client: Client,
    db: Database,
    settings: Settings,
    reader: FakeReader,
    actors: tuple[Headers, Headers],
) -> None:
    hq, dealer = actors
    promo = await promotion(client, hq, budget={"amount": 20000})
    claim = await new_claim(client, dealer, promo)
    data = reader.register(noise_image(12), receipt_no="D-2", qty=1)  # short of 2
    # 1 x 30.00 = 30.00: the receipt's own arithmetic confirms the short quantity, so it is
    # a rejection, not a doubtful read for review.
    short = reader.exact[data]
    [item] = short.items
    reader.exact[data] = msgspec.structs.replace(
        short, items=(msgspec.structs.replace(item, unit_price=item.amount),)
    )
    assert (await upload(client, dealer, claim, data)).status_code == 200
    decided = await submit_and_run(client, dealer, claim, db, settings, reader)
    assert decided["status"] == "rejected", decided["reasons"]
    claim_id = uuid.UUID(claim["id"])
    first = await _effects(db, claim_id)
    assert (first["decided_events"], first["journal_entries"]) == (1, 0)

    await _rerun_everything(db, settings, reader, claim_id)

    assert await _effects(db, claim_id) == first
