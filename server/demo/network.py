"""The demo's channel: regions in four provinces, three warehouses, three tiers, twelve
dealers (one a sub-dealer), HQ staff and two field reps."""

from __future__ import annotations

import random
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.dealers.schemas import DealerCreate, TierCreate
from server.dealers.service import create_dealer, create_tier
from server.identity.models import Role, User
from server.identity.principal import Principal
from server.regions.models import RegionLevel
from server.regions.schemas import RegionCreate
from server.regions.service import create_region
from server.warehouses.schemas import WarehouseCreate
from server.warehouses.service import create_warehouse

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
# (code, name, region, address, share of the brand's sales it ships)
WAREHOUSES = [
    ("WH-HZ", "华东杭州仓", "330110", "杭州市余杭区仁和街道物流园 8 号库", 0.5),
    ("WH-GZ", "华南广州仓", "440100", "广州市白云区太和镇物流园 3 号库", 0.3),
    ("WH-CD", "西南成都仓", "510100", "成都市新都区物流大道 66 号", 0.2),
]
WAREHOUSE_COVERAGE = {"WH-HZ": ["330000", "320000"], "WH-GZ": ["440000"], "WH-CD": ["510000"]}
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
# Two-level distribution: 余杭良渚 buys through 杭州鑫源.
SUB_DEALERS = {"D010": "D001"}
STAFF = [
    ("hq", "总部管理员", Role.HQ_ADMIN),
    ("ops", "总部运营", Role.HQ_OPERATOR),
    ("rep1", "业务员 小马", Role.REP),
    ("rep2", "业务员 小林", Role.REP),
]


def _level(code: str, parent: str | None) -> RegionLevel:
    if parent is None:
        return RegionLevel.PROVINCE
    return RegionLevel.CITY if code.endswith("00") else RegionLevel.DISTRICT


def insert_staff(session: AsyncSession, password_hash: str) -> dict[str, Principal]:
    """HQ staff and reps. Their rows are written here because every demo login shares one
    Argon2 hash (a quarter of a second each) and the first admin has nobody to create it."""
    principals: dict[str, Principal] = {}
    for username, display_name, role in STAFF:
        user = User(
            id=uuid.uuid4(),
            username=username,
            password_hash=password_hash,
            display_name=display_name,
            role=role,
        )
        session.add(user)
        principals[username] = Principal(user_id=user.id, role=role)
    return principals


async def insert_network(
    session: AsyncSession, actor: Principal, password_hash: str, rng: random.Random
) -> dict[str, uuid.UUID]:
    """Regions, warehouses, tiers, dealers and their admins; returns dealer ids by code."""
    for code, name, parent in REGIONS:
        body = RegionCreate(code=code, name=name, level=_level(code, parent), parent_code=parent)
        await create_region(session, actor, body)
    for code, name, region, address, _share in WAREHOUSES:
        body = WarehouseCreate(code=code, name=name, region_code=region, address=address)
        await create_warehouse(session, actor, body)
    for code, zh, en, rank, prepay, days in TIERS:
        tier = TierCreate(
            code=code,
            name_zh=zh,
            name_en=en,
            rank=rank,
            requires_prepayment=prepay,
            credit_days=days,
        )
        await create_tier(session, actor, tier)
    dealers: dict[str, uuid.UUID] = {}
    for code, name, tier, regions, contact in DEALERS:
        parent = SUB_DEALERS.get(code)
        dealer = await create_dealer(
            session,
            actor,
            DealerCreate(
                code=code,
                name=name,
                tier_code=tier,
                region_codes=regions,
                parent_id=dealers[parent] if parent else None,
                contact_name=contact,
                contact_phone=f"13{rng.randint(100000000, 999999999)}",
                segments=["ka" if tier == "core" else "traditional"],
            ),
        )
        dealers[code] = dealer.id
    for index, (code, _name, _tier, _regions, contact) in enumerate(DEALERS, start=1):
        session.add(
            User(
                id=uuid.uuid4(),
                username=f"dealer{index:02d}",
                password_hash=password_hash,
                display_name=contact,
                role=Role.DEALER_ADMIN,
                dealer_id=dealers[code],
            )
        )
    await session.flush()
    return dealers
