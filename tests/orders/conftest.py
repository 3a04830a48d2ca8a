"""A dealer ready to order: regions, a warehouse with stock, SKUs on a price list, funds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from server.accounts.funds import set_credit_limit, top_up
from server.accounts.schemas import TopUpIn
from server.db.engine import Database
from server.db.session import transaction
from server.dealers.models import Dealer, DealerAddress, DealerStatus
from server.identity.models import Role, User
from server.identity.principal import Principal
from server.inventory import receive_stock
from server.settings import Settings
from server.trail import install_trail
from tests.factories import (
    bearer,
    make_dealer,
    make_price_list,
    make_regions,
    make_sku,
    make_tiers,
    make_user,
    make_warehouse,
)

HQ = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
PRICES = {"W-550": 100, "W-1L": 250, "TEA": 399}


@dataclass
class Shop:
    dealer: Dealer
    user: User
    headers: dict[str, str]
    hq: dict[str, str]
    warehouse_id: uuid.UUID
    skus: dict[str, uuid.UUID]
    home: uuid.UUID  # a ship-to address in the dealer's region
    away: uuid.UUID  # one outside it (窜货)

    @property
    def actor(self) -> Principal:
        """The shop's user as the services see it."""
        return Principal(user_id=self.user.id, role=self.user.role, dealer_id=self.dealer.id)


def placing_database(settings: Settings) -> Database:
    """Another handle on the test database, with the approval trail's pre-commit hook the app
    installs (a placed order that is approved at once is the system's decision)."""
    database = Database(settings.database)
    install_trail(database)
    return database


async def fund(db: Database, dealer_id: uuid.UUID, prepaid: int = 0, credit: int = 0) -> None:
    async with transaction(db) as s:
        if prepaid:
            await top_up(
                s,
                HQ,
                dealer_id,
                TopUpIn(
                    account="prepaid",
                    amount=prepaid,
                    reason="汇款",
                    idempotency_key=str(uuid.uuid4()),
                ),
            )
        if credit:
            await set_credit_limit(s, HQ, dealer_id, credit, "授信")


async def add_address(db: Database, dealer_id: uuid.UUID, region: str) -> uuid.UUID:
    async with transaction(db) as s:
        address = DealerAddress(
            id=uuid.uuid4(),
            dealer_id=dealer_id,
            contact_name="张三",
            contact_phone="13800000000",
            region_code=region,
            detail="文三路 1 号",
        )
        s.add(address)
    return address.id


async def make_shop(
    db: Database,
    settings: Settings,
    *,
    tier: str = "core",
    stock: int = 1000,
    prepaid: int = 1_000_000,
    credit: int = 0,
    status: DealerStatus = DealerStatus.ACTIVE,
    with_world: bool = True,
) -> Shop:
    """A dealer in 杭州 with its own user; the world (regions, SKUs, stock) once per test."""
    if with_world:
        await make_regions(db)
        await make_tiers(db)
    dealer = await make_dealer(db, tier=tier, regions=("330100",), status=status)
    user = await make_user(db, Role.DEALER_ADMIN, dealer=dealer)
    hq = await make_user(db, Role.HQ_ADMIN)
    skus: dict[str, uuid.UUID] = {}
    if with_world:
        warehouse = await make_warehouse(db, region="330100", code="HZ-01")
        for code in PRICES:
            skus[code] = (await make_sku(db, code=code)).id
        await make_price_list(db, "BASE", dict(PRICES))
        async with transaction(db) as s:
            for sku_id in skus.values():
                await receive_stock(s, warehouse.id, sku_id, stock, reason="入库")
        warehouse_id = warehouse.id
    else:
        warehouse_id = uuid.uuid4()
    await fund(db, dealer.id, prepaid=prepaid, credit=credit)
    return Shop(
        dealer=dealer,
        user=user,
        headers=bearer(settings, user),
        hq=bearer(settings, hq),
        warehouse_id=warehouse_id,
        skus=skus,
        home=await add_address(db, dealer.id, "330106"),
        away=await add_address(db, dealer.id, "440100"),
    )


@pytest.fixture
async def shop(db: Database, settings: Settings) -> Shop:
    return await make_shop(db, settings)
