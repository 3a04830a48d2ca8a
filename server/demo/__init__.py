"""Demo data for a newcomer: one brand's dealer channel, as `make run` serves it.

青岚 (Qinglan), a brand of water, tea, juice, functional drinks, coffee, snacks and instant
noodles (30 SKUs sold by the case at realistic dealer prices), three warehouses holding weeks
of stock, twelve dealers in four provinces, five live promotions, a bundle, a configurable
product, a quote waiting for HQ and a rep's open claim. Everything but the logins is written
through the owning domain's services, so ledgers, audit, sync publications and the catalog
revision are what real use would leave.

Modules: ``network`` (regions, warehouses, tiers, dealers, logins), ``brand`` (the catalog),
``trading`` (price lists, stock, funds), ``showcase`` (promotions, CPQ, the quote, the claim).
"""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog import sku_ids_by_code
from server.db.base import utcnow
from server.db.engine import Database
from server.db.session import transaction
from server.demo import brand, network, showcase, trading
from server.identity.models import Role, User
from server.identity.passwords import hash_password
from server.identity.principal import Principal
from server.regions import region_exists
from server.settings import Settings
from server.trail import install_trail

__all__ = ["seed"]


async def seed(settings: Settings, password: str) -> list[tuple[str, str, str]]:
    """Insert the demo data once; return ``(role, username, display name)`` for every login."""
    database = Database(settings.database)
    install_trail(database)  # the demo publishes price lists: decisions
    try:
        async with transaction(database) as session:
            if not await region_exists(session, network.REGIONS[0][0]):
                await _insert(session, settings, password)
            users = (
                (
                    await session.execute(
                        select(User)
                        .where(User.username.is_not(None))
                        .order_by(User.role, User.username)
                    )
                )
                .scalars()
                .all()
            )
            return [(str(u.role), u.username or "", u.display_name) for u in users]
    finally:
        await database.dispose()


async def _insert(session: AsyncSession, settings: Settings, password: str) -> None:
    rng = random.Random(20261127)
    secret = hash_password(password)
    staff = network.insert_staff(session, secret)
    await session.flush()
    hq = staff["hq"]
    dealers = await network.insert_network(session, hq, secret, rng)
    await brand.insert_catalog(session, hq)
    await trading.insert_price_lists(session, hq)
    skus = await sku_ids_by_code(session, [item.code for item in brand.ITEMS])
    await trading.insert_stock(session, hq, skus, rng)
    await trading.insert_funds(session, hq, dealers, rng)
    await showcase.insert_cpq(session, hq)
    promotions = await showcase.insert_promotions(
        session, hq, settings, showcase.brand_today(settings)
    )
    now = utcnow()
    dealer01 = await _dealer_admin(session, "dealer01")
    await showcase.insert_quote(session, dealer01, settings, now)
    await showcase.insert_claim(
        session, staff["rep1"], dealers["D003"], promotions["DISPLAY-ENDCAP"], now
    )


async def _dealer_admin(session: AsyncSession, username: str) -> Principal:
    user = (await session.execute(select(User).where(User.username == username))).scalar_one()
    return Principal(user_id=user.id, role=Role(user.role), dealer_id=user.dealer_id)
