"""Plain factory functions: ``await make_dealer(db, tier="core")``; each commits its rows."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from server.catalog.models import Category, ItemStatus, Product, Sku
from server.catalog.service import bump_revision, pinyin_keys
from server.db.base import utcnow
from server.db.engine import Database
from server.db.session import transaction
from server.dealers.models import Dealer, DealerRegion, DealerStatus, DealerTier
from server.identity.models import Role, User
from server.identity.passwords import hash_password
from server.identity.principal import Principal
from server.identity.tokens import issue_access_token
from server.pricelists.models import PriceListEntry, PriceListStatus, PriceListVersion
from server.pricing import Scope
from server.regions.models import Region, RegionLevel
from server.settings import Settings
from server.warehouses.models import Warehouse

_seq = itertools.count(1)


async def make_regions(db: Database) -> None:
    """浙江 > 杭州 > 西湖, and 广东 > 广州."""
    async with transaction(db) as s:
        s.add_all(
            [
                Region(code="330000", name="浙江省", level=RegionLevel.PROVINCE),
                Region(code="440000", name="广东省", level=RegionLevel.PROVINCE),
            ]
        )
        await s.flush()
        s.add_all(
            [
                Region(code="330100", name="杭州市", level=RegionLevel.CITY, parent_code="330000"),
                Region(code="440100", name="广州市", level=RegionLevel.CITY, parent_code="440000"),
            ]
        )
        await s.flush()
        s.add(
            Region(code="330106", name="西湖区", level=RegionLevel.DISTRICT, parent_code="330100")
        )


async def make_tiers(db: Database) -> None:
    async with transaction(db) as s:
        s.add_all(
            [
                DealerTier(code="core", name_zh="核心", name_en="Core", rank=1),
                DealerTier(code="growth", name_zh="成长", name_en="Growth", rank=2),
                DealerTier(
                    code="watch", name_zh="观察", name_en="Watch", rank=3, requires_prepayment=True
                ),
            ]
        )


async def make_dealer(
    db: Database,
    tier: str = "core",
    regions: tuple[str, ...] = (),
    status: DealerStatus = DealerStatus.ACTIVE,
) -> Dealer:
    n = next(_seq)
    async with transaction(db) as s:
        if await s.get(DealerTier, tier) is None:
            s.add(DealerTier(code=tier, name_zh=tier, name_en=tier))
            await s.flush()
        dealer = Dealer(
            id=uuid.uuid4(),
            code=f"T{n:05d}",
            name=f"测试经销商{n}",
            tier_code=tier,
            status=status,
            regions=[DealerRegion(region_code=r) for r in regions],
        )
        s.add(dealer)
    return dealer


async def make_user(
    db: Database,
    role: Role = Role.HQ_ADMIN,
    dealer: Dealer | None = None,
    username: str | None = None,
    password: str | None = None,
    openid: str | None = None,
    active: bool = True,
) -> User:
    async with transaction(db) as s:
        user = User(
            id=uuid.uuid4(),
            username=username,
            display_name=f"用户{next(_seq)}",
            role=role,
            dealer_id=dealer.id if dealer else None,
            wechat_openid=openid,
            active=active,
            password_hash=hash_password(password) if password else None,
        )
        s.add(user)
    return user


def token_for(settings: Settings, user: User) -> str:
    return issue_access_token(
        settings.auth, Principal(user_id=user.id, role=user.role, dealer_id=user.dealer_id)
    )


def bearer(settings: Settings, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(settings, user)}"}


async def make_warehouse(
    db: Database, region: str = "330100", code: str | None = None
) -> Warehouse:
    async with transaction(db) as s:
        code = code or f"WH{next(_seq):05d}"
        warehouse = Warehouse(id=uuid.uuid4(), code=code, name="仓库", region_code=region)
        s.add(warehouse)
    return warehouse


async def make_sku(
    db: Database,
    code: str | None = None,
    name: str = "农夫山泉天然矿泉水 550ml",
    *,
    pack_size: int = 1,
    min_order_qty: int = 1,
    whole_cases: bool = False,
    barcode: str | None = None,
    status: ItemStatus = ItemStatus.ACTIVE,
) -> Sku:
    """A SKU (with a fresh category and product); pinyin keys derived from the name."""
    n = next(_seq)
    async with transaction(db) as s:
        category = Category(id=uuid.uuid4(), code=f"C{n:05d}", name=f"类目{n}")
        s.add(category)
        await s.flush()
        product = Product(
            id=uuid.uuid4(), code=f"P{n:05d}", name=name, brand="农夫山泉", category_id=category.id
        )
        s.add(product)
        await s.flush()
        full, initials = pinyin_keys(name)
        sku = Sku(
            id=uuid.uuid4(),
            code=code or f"SKU{n:05d}",
            product_id=product.id,
            name=name,
            pack_size=pack_size,
            min_order_qty=min_order_qty,
            whole_cases=whole_cases,
            barcode=barcode,
            status=status,
            pinyin=full,
            pinyin_initials=initials,
        )
        s.add(sku)
        await bump_revision(s)
    return sku


PriceSpec = int | tuple[int, list[tuple[int, int]]]


async def make_price_list(
    db: Database,
    code: str,
    items: dict[str, PriceSpec],
    *,
    scope: Scope = Scope.DEFAULT,
    key: str | None = None,
    priority: int = 0,
    version: int = 1,
    status: PriceListStatus = PriceListStatus.PUBLISHED,
) -> PriceListVersion:
    """A price list version: ``{sku: unit_price}`` or ``{sku: (price, [(min_qty, price)])}``."""
    published = utcnow() if status is PriceListStatus.PUBLISHED else None
    async with transaction(db) as s:
        pl = PriceListVersion(
            id=uuid.uuid4(),
            code=code,
            version=version,
            name=code,
            scope=scope,
            scope_key=key,
            priority=priority,
            currency="CNY",
            status=status,
            published_at=published,
        )
        s.add(pl)
        await s.flush()
        for sku, spec in items.items():
            price, breaks = (spec, []) if isinstance(spec, int) else spec
            table = [{"min_qty": q, "unit_price": p, "max_qty": None} for q, p in breaks]
            s.add(
                PriceListEntry(
                    price_list_id=pl.id,
                    sku_code=sku,
                    unit_price=price,
                    break_kind="range",
                    breaks=table,
                )
            )
        await bump_revision(s)
    return pl


async def trail_of(
    client: Any, headers: dict[str, str], document_type: str, document_id: object
) -> list[tuple[str, str, str]]:
    """A document's approval-trail entries, oldest first: ``(outcome, role, comment)``."""
    response = await client.get(
        "/hq/decisions",
        params={"documentType": document_type, "documentId": str(document_id)},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return [(e["outcome"], e["role"], e["comment"]) for e in reversed(response.json()["items"])]
