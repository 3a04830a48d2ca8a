"""``channelhub seed-scale`` at a small size: what it writes reads back through the domains'
own services (COPY skips the ORM, so a wrong column value would show here), the same seed
gives the same rows, and a database holding other data is refused unless forced."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.claims.models import Claim, ClaimStatus
from server.claims.queries import ClaimSearch, claims_in_review, search_claims
from server.claims.service import claim_detail
from server.db.engine import Database
from server.demo import scale_rows, seed
from server.demo.scale import ScaleRefused, ScaleSizes, seed_scale
from server.identity.models import Role
from server.identity.principal import Principal
from server.orders import OrderStatus, service
from server.orders.stats import orders_in_review
from server.settings import Settings
from server.storage.backends import create_storage
from sync import latest_publications, publication_status
from tests.conftest import make_settings
from tests.fakes.wechat import FakeWechat

SIZES = ScaleSizes(dealers=40, skus=300, orders=400, claims=120)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, fake_wechat: FakeWechat) -> Settings:
    return make_settings(database_url, tmp_path, fake_wechat.base_url)


async def test_the_set_reads_back_through_the_services(settings: Settings) -> None:
    counts = await seed_scale(settings, SIZES, say=lambda _line: None)
    assert counts["dealers"] == 40
    assert counts["orders"] == 400
    assert counts["claims"] == 120
    assert counts["order_lines"] >= 400
    database = Database(settings.database)
    hq = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
    try:
        async with database.session() as session:
            waiting = await orders_in_review(session)
            assert waiting > 0
            rows, _ = await service.list_orders(session, review=True, limit=500)
            assert len(rows) == waiting
            order = service.order_out(await service.get_order(session, rows[0].id))
            assert order.status is OrderStatus.SUBMITTED
            assert order.review_reasons and order.lines
            in_review = await claims_in_review(session)
            claims = await search_claims(session, ClaimSearch(), limit=500)
            assert len(claims) == in_review > 0
            assert all(c.status is ClaimStatus.REVIEW and c.reasons for c in claims)
            storage = create_storage(settings.storage, settings.public_base_url, "x" * 40)
            detail = await claim_detail(session, hq, claims[0].id, storage)
            assert detail.receipts[0].boxes and detail.reasons[0].zh
            heads = await latest_publications(session, ("price:",), limit=20)
            assert {"price:region:330000", "price:tier:growth"} <= {h.scope for h in heads}
            status = await publication_status(session, heads[0].scope, heads[0].version)
            assert status.subscribed > 0
            total = (await session.execute(select(func.count()).select_from(Claim))).scalar()
            assert total == 120 + 1  # and the demo's open claim
    finally:
        await database.dispose()


def test_the_same_seed_gives_the_same_rows() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    first = scale_rows.dealers(random.Random(5), 50, ["330106", "440100"], now)
    again = scale_rows.dealers(random.Random(5), 50, ["330106", "440100"], now)
    other = scale_rows.dealers(random.Random(6), 50, ["330106", "440100"], now)
    assert first == again
    assert first[1] != other[1]


async def test_a_database_with_other_data_is_refused_unless_forced(settings: Settings) -> None:
    await seed(settings, "channelhub-demo")
    with pytest.raises(ScaleRefused, match="--force"):
        await seed_scale(settings, SIZES, say=lambda _line: None)
    counts = await seed_scale(settings, SIZES, force=True, say=lambda _line: None)
    assert counts["dealers"] == 40
    with pytest.raises(ScaleRefused, match="already loaded"):
        await seed_scale(settings, SIZES, force=True, say=lambda _line: None)
