"""Demo data for a newcomer: regions, warehouses, tiers, a dozen dealers, reps, HQ, 200 SKUs."""

from __future__ import annotations

import random
import uuid

from pypinyin import Style, lazy_pinyin
from sqlalchemy import select

from server.catalog.models import Category, Product, Sku
from server.db.engine import Database
from server.db.session import transaction
from server.dealers.models import Dealer, DealerRegion, DealerTier
from server.identity.models import Role, User
from server.identity.passwords import hash_password
from server.identity.principal import Principal
from server.regions.models import Region, RegionLevel
from server.settings import Settings
from server.warehouses.models import Warehouse

REGIONS = [
    ("330000", "浙江省", None),
    ("330100", "杭州市", "330000"),
    ("330106", "西湖区", "330100"),
    ("330110", "余杭区", "330100"),
    ("330200", "宁波市", "330000"),
    ("320000", "江苏省", None),
    ("320100", "南京市", "320000"),
    ("320500", "苏州市", "320000"),
    ("440000", "广东省", None),
    ("440100", "广州市", "440000"),
    ("440300", "深圳市", "440000"),
    ("510000", "四川省", None),
    ("510100", "成都市", "510000"),
    ("510700", "绵阳市", "510000"),
]
WAREHOUSES = [
    ("WH-HZ", "华东杭州仓", "330110"),
    ("WH-GZ", "华南广州仓", "440100"),
    ("WH-CD", "西南成都仓", "510100"),
]
TIERS = [
    ("core", "核心", "Core", 1, False, 30),
    ("growth", "成长", "Growth", 2, False, 15),
    ("watch", "观察", "Watch", 3, True, 0),
]
DEALERS = [
    ("D001", "杭州鑫源商贸有限公司", "core", ["330100"], "王建国"),
    ("D002", "宁波海曙恒丰食品批发部", "growth", ["330200"], "陈丽华"),
    ("D003", "西湖区利民便利配送站", "watch", ["330106"], "李晓东"),
    ("D004", "南京金陵百货贸易有限公司", "core", ["320100"], "张志强"),
    ("D005", "苏州吴中裕丰副食品商行", "growth", ["320500"], "刘芳"),
    ("D006", "广州天河华润食品经营部", "core", ["440100"], "黄伟明"),
    ("D007", "深圳宝安旺佳商贸有限公司", "growth", ["440300"], "吴小燕"),
    ("D008", "成都锦江川味食品贸易公司", "core", ["510100"], "赵德明"),
    ("D009", "绵阳涪城兴隆批发商行", "watch", ["510700"], "孙平"),
    ("D010", "余杭良渚万家乐超市配送", "growth", ["330110"], "周海涛"),
    ("D011", "广州白云区顺发食杂店", "watch", ["440100"], "郑秀英"),
    ("D012", "成都高新区佳禾商贸有限公司", "growth", ["510100"], "何俊"),
]
CATEGORIES = [
    (
        "water",
        "饮用水",
        ["天然矿泉水", "饮用纯净水", "天然水", "苏打水"],
        ["380ml", "550ml", "1.5L", "5L"],
    ),
    ("tea", "茶饮料", ["茉莉花茶", "冰红茶", "乌龙茶", "柠檬茶", "绿茶"], ["500ml", "1L"]),
    ("juice", "果汁", ["橙汁", "苹果汁", "芒果汁", "NFC橙汁", "葡萄汁"], ["300ml", "450ml", "1L"]),
    (
        "soda",
        "碳酸饮料",
        ["可乐", "柠檬味汽水", "橙味汽水", "无糖可乐"],
        ["330ml罐装", "500ml", "2L"],
    ),
    ("dairy", "乳制品", ["纯牛奶", "酸奶", "高钙奶", "早餐奶"], ["250ml", "200g", "1L"]),
    (
        "snack",
        "休闲零食",
        ["原味薯片", "番茄味薯片", "夹心饼干", "苏打饼干", "坚果礼盒"],
        ["70g", "104g", "500g"],
    ),
    (
        "noodle",
        "方便食品",
        ["红烧牛肉面", "老坛酸菜面", "鲜虾鱼板面", "香辣牛肉面"],
        ["单包", "五连包", "桶装"],
    ),
    ("sauce", "调味品", ["生抽", "老抽", "米醋", "蚝油", "料酒"], ["500ml", "1.9L"]),
]
BRANDS = ["农夫山泉", "康师傅", "统一", "娃哈哈", "今麦郎"]


def _pinyin(text: str) -> tuple[str, str]:
    syllables = lazy_pinyin(text, style=Style.NORMAL, errors="ignore")
    initials = lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore")
    return "".join(syllables).lower(), "".join(initials).lower()


async def seed(settings: Settings, password: str) -> list[tuple[str, str, str]]:
    """Insert the demo data once; return ``(role, username, display name)`` for every login."""
    database = Database(settings.database)
    try:
        async with transaction(database) as session:
            if await session.get(Region, "330000") is None:
                await _insert(session, password)
                await session.flush()
                await _insert_trading(session)
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


async def _insert(session: object, password: str) -> None:
    """Regions, tiers, dealers, users, the catalog and warehouses of the demo channel.

    Why long: a fixed script of demo rows, read top to bottom like the fixture it is.
    """
    from sqlalchemy.ext.asyncio import AsyncSession

    assert isinstance(session, AsyncSession)
    rng = random.Random(20261127)
    for code, name, parent in REGIONS:
        level = (
            RegionLevel.PROVINCE
            if parent is None
            else (RegionLevel.CITY if code.endswith("00") else RegionLevel.DISTRICT)
        )
        session.add(Region(code=code, name=name, level=level, parent_code=parent))
        await session.flush()
    for code, name, region in WAREHOUSES:
        session.add(Warehouse(id=uuid.uuid4(), code=code, name=name, region_code=region))
    for code, zh, en, rank, prepay, days in TIERS:
        session.add(
            DealerTier(
                code=code,
                name_zh=zh,
                name_en=en,
                rank=rank,
                requires_prepayment=prepay,
                credit_days=days,
            )
        )
    await session.flush()
    secret = hash_password(password)
    dealers: dict[str, Dealer] = {}
    for code, name, tier, regions, contact in DEALERS:
        dealer = Dealer(
            id=uuid.uuid4(),
            code=code,
            name=name,
            tier_code=tier,
            contact_name=contact,
            contact_phone=f"13{rng.randint(100000000, 999999999)}",
            regions=[DealerRegion(region_code=r) for r in regions],
            segments=["ka" if tier == "core" else "traditional"],
        )
        dealers[code] = dealer
        session.add(dealer)
    await session.flush()
    dealers["D010"].parent_id = dealers["D001"].id  # two-level distribution: 余杭 under 杭州鑫源
    session.add(
        User(username="hq", password_hash=secret, display_name="总部管理员", role=Role.HQ_ADMIN)
    )
    session.add(
        User(username="ops", password_hash=secret, display_name="总部运营", role=Role.HQ_OPERATOR)
    )
    session.add(
        User(username="rep1", password_hash=secret, display_name="业务员 小马", role=Role.REP)
    )
    session.add(
        User(username="rep2", password_hash=secret, display_name="业务员 小林", role=Role.REP)
    )
    for index, (code, _name, _tier, _regions, contact) in enumerate(DEALERS, start=1):
        session.add(
            User(
                username=f"dealer{index:02d}",
                password_hash=secret,
                display_name=contact,
                role=Role.DEALER_ADMIN,
                dealer_id=dealers[code].id,
            )
        )
    await session.flush()
    await _insert_catalog(session, rng)


async def _insert_catalog(session: object, rng: random.Random) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    assert isinstance(session, AsyncSession)
    products: list[tuple[Product, list[str]]] = []
    for order, (code, name, flavours, specs) in enumerate(CATEGORIES):
        category = Category(id=uuid.uuid4(), code=code, name=name, sort_order=order)
        session.add(category)
        for flavour in flavours:
            for brand in BRANDS:
                product = Product(
                    id=uuid.uuid4(),
                    code=f"P{len(products) + 1:04d}",
                    name=f"{brand}{flavour}",
                    brand=brand,
                    category_id=category.id,
                )
                session.add(product)
                products.append((product, rng.sample(specs, k=min(2, len(specs)))))
    # One SKU per product, then second sizes until there are exactly 200.
    plan = [(p, specs[0]) for p, specs in products]
    plan += [(p, specs[1]) for p, specs in products if len(specs) > 1][: 200 - len(plan)]
    for count, (product, spec) in enumerate(plan[:200], start=1):
        pack = 24 if ("ml" in spec or "罐" in spec) else 12
        sku_name = f"{product.name} {spec}"
        full, initials = _pinyin(sku_name)
        session.add(
            Sku(
                id=uuid.uuid4(),
                code=f"SKU{count:05d}",
                product_id=product.id,
                name=sku_name,
                spec=f"{spec}×{pack}",
                unit="箱",
                pack_size=1,
                min_order_qty=1 if count % 5 else 5,
                barcode=f"69{rng.randint(10**10, 10**11 - 1)}",
                pinyin=full,
                pinyin_initials=initials,
            )
        )
    await session.flush()


WAREHOUSE_COVERAGE = {"WH-HZ": ["330000", "320000"], "WH-GZ": ["440000"], "WH-CD": ["510000"]}


async def _insert_trading(session: object) -> None:
    """Prices, stock, coverage and funds, through the domain services (ledgers stay sound).

    Why long: a fixed script of demo rows, read top to bottom like the fixture it is.
    """
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.accounts.funds import set_credit_limit, top_up
    from server.accounts.schemas import TopUpIn
    from server.inventory.hq_stock import receive_stock
    from server.inventory.policies import set_warehouse_regions
    from server.inventory.schemas import WarehouseRegionIn, WarehouseRegionsIn
    from server.pricelists import service as pricelists
    from server.pricelists.schemas import ItemIn, PriceListCreate
    from server.pricing import Scope

    assert isinstance(session, AsyncSession)
    rng = random.Random(7)
    hq = (await session.execute(select(User).where(User.username == "hq"))).scalar_one()
    actor = Principal(user_id=hq.id, role=hq.role)
    skus = (await session.execute(select(Sku).order_by(Sku.code))).scalars().all()
    base = {sku.code: rng.randrange(2400, 16800, 10) for sku in skus}
    default = await pricelists.create_price_list(
        session,
        actor,
        PriceListCreate(
            code="STD-2026",
            name="2026 标准经销价",
            scope=Scope.DEFAULT,
            items=[ItemIn(sku=code, unit_price=price) for code, price in base.items()],
        ),
    )
    await pricelists.publish(session, actor, default.id)
    core = await pricelists.create_price_list(
        session,
        actor,
        PriceListCreate(
            code="CORE-2026",
            name="核心经销商价",
            scope=Scope.TIER,
            scope_key="core",
            priority=10,
            items=[
                ItemIn(sku=code, unit_price=price * 95 // 100)
                for code, price in list(base.items())[:120]
            ],
        ),
    )
    await pricelists.publish(session, actor, core.id)
    warehouses = {w.code: w for w in (await session.execute(select(Warehouse))).scalars()}
    for code, regions in WAREHOUSE_COVERAGE.items():
        await set_warehouse_regions(
            session,
            actor,
            warehouses[code].id,
            WarehouseRegionsIn(regions=[WarehouseRegionIn(region_code=r) for r in regions]),
        )
        for sku in skus:
            await receive_stock(
                session,
                warehouses[code].id,
                sku.id,
                rng.choice([6, 12, 60, 240, 600]),
                reference="demo-opening",
                reason="期初库存",
            )
    dealers = (await session.execute(select(Dealer).order_by(Dealer.code))).scalars().all()
    for dealer in dealers:
        await top_up(
            session,
            actor,
            dealer.id,
            TopUpIn(
                account="prepaid",
                amount=rng.randrange(50_000_00, 300_000_00, 100_00),
                reason="期初预存款",
                idempotency_key=f"demo-prepaid-{dealer.code}",
            ),
        )
        if dealer.tier_code != "watch":
            await set_credit_limit(session, actor, dealer.id, 200_000_00, "期初信用额度")
        await top_up(
            session,
            actor,
            dealer.id,
            TopUpIn(
                account="rebate",
                amount=rng.randrange(1_000_00, 8_000_00, 100),
                reason="上季度返利",
                idempotency_key=f"demo-rebate-{dealer.code}",
            ),
        )
