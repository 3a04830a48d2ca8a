"""What a newcomer's first hour should find at work: live promotions, a bundle, a
configurable product, a quote waiting for HQ and a rep's claim.

A cart of 60 cases of 550 ml water and 10 of iced tea, priced for dealer01 (a core dealer
in Hangzhou), runs the whole pipeline: the core tier's list, the volume break from 50
cases, 每满 ¥1,000 减 ¥30 on water, and a free case of jasmine tea for ten of tea.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.cpq import (
    BundleIn,
    ComponentIn,
    ConfigurableIn,
    ConstraintIn,
    GroupIn,
    OptionIn,
    create_bundle,
    create_configurable,
)
from server.claims.schemas import ClaimCreate
from server.claims.service import create_claim
from server.identity.principal import Principal
from server.pricelists import PricingCache
from server.promotions.schemas import (
    BudgetIn,
    BuyGet,
    DisplayFee,
    EligibilityIn,
    Mechanic,
    PercentOff,
    PromotionIn,
    RebateShare,
    Threshold,
)
from server.promotions.service import create_promotion, publish_promotion
from server.quotes.schemas import QuoteCreate, QuoteLineIn
from server.quotes.service import create_quote, request_approval
from server.settings import Settings

# (code, name, mechanic, eligibility, budget)
PROMOTIONS: list[tuple[str, str, Mechanic, EligibilityIn, BudgetIn]] = [
    (
        "WATER-MJ",
        "饮用水每满 ¥1,000 减 ¥30",
        Threshold(threshold=1_000_00, discount=30_00, repeat=True, max_times=20),
        EligibilityIn(categories=["water"]),
        BudgetIn(amount=200_000_00),
    ),
    (
        "TEA-B10G1",
        "茶饮料买 10 箱赠 1 箱茉莉花茶",
        BuyGet(buy_qty=10, gift_sku="SKU00008", gift_qty=1, repeat=True, max_gifts=20),
        EligibilityIn(categories=["tea"]),
        BudgetIn(),
    ),
    (
        "OOLONG-NEW",
        "新品无糖乌龙茶尝鲜 9 折",
        PercentOff(percent_off_bp=1000),
        EligibilityIn(skus=["SKU00012"]),
        BudgetIn(amount=50_000_00),
    ),
    (
        "CORE-REBATE",
        "核心经销商进货返利 1%",
        RebateShare(share_bp=100),
        EligibilityIn(tiers=["core"]),
        BudgetIn(),
    ),
    (
        "DISPLAY-ENDCAP",
        "端架陈列奖励 ¥300/店",
        DisplayFee(amount=300_00, max_images=3),
        EligibilityIn(),
        BudgetIn(amount=60_000_00, dealer_count=4),
    ),
]
# A season of about three months, running now.
WINDOW_BEFORE, WINDOW_AFTER = timedelta(days=14), timedelta(days=76)


async def insert_promotions(
    session: AsyncSession, actor: Principal, settings: Settings, today: date
) -> dict[str, uuid.UUID]:
    """The season's promotions, published; returns their ids by code."""
    ids: dict[str, uuid.UUID] = {}
    for code, name, mechanic, eligibility, budget in PROMOTIONS:
        body = PromotionIn(
            code=code,
            name=name,
            mechanic=mechanic,
            eligibility=eligibility,
            budget=budget,
            starts_on=today - WINDOW_BEFORE,
            ends_on=today + WINDOW_AFTER,
        )
        promotion = await create_promotion(session, actor, body, settings.timezone)
        await publish_promotion(session, actor, promotion.id)
        ids[code] = promotion.id
    return ids


def _option(code: str, sku: str, qty: int) -> OptionIn:
    return OptionIn(code=code, sku=sku, qty=qty)


SUMMER_COMBO = BundleIn(
    code="SUMMER-COMBO",
    name="夏日冰饮组合（电解质水 + 冰红茶 + 柠檬茶 各 1 箱）",
    bundle_price=102_00,  # ¥111.00 at standard prices: about 8% off
    components=[
        ComponentIn(sku="SKU00018"),
        ComponentIn(sku="SKU00009"),
        ComponentIn(sku="SKU00011"),
    ],
)
STORE_STARTER = ConfigurableIn(
    code="STORE-STARTER",
    name="新店开业进货组合",
    groups=[
        GroupIn(
            code="water",
            name="饮用水",
            min=1,
            max=2,
            options=[
                _option("W550", "SKU00001", 20),
                _option("W380", "SKU00002", 10),
                _option("W1500", "SKU00003", 10),
            ],
        ),
        GroupIn(
            code="tea",
            name="茶饮料",
            min=1,
            max=3,
            options=[
                _option("JASMINE", "SKU00008", 5),
                _option("ICETEA", "SKU00009", 5),
                _option("LEMONTEA", "SKU00011", 5),
                _option("OOLONG", "SKU00012", 5),
            ],
        ),
        GroupIn(
            code="chilled",
            name="冷柜饮品",
            min=0,
            max=2,
            options=[
                _option("ELECTRO", "SKU00018", 5),
                _option("LATTE", "SKU00021", 3),
                _option("NFC", "SKU00014", 2),
            ],
        ),
        GroupIn(
            code="snack",
            name="零食",
            min=0,
            max=2,
            options=[
                _option("CHIPS", "SKU00023", 2),
                _option("CRACKER", "SKU00025", 2),
                _option("CUPNOODLE", "SKU00028", 3),
            ],
        ),
    ],
    constraints=[
        # A small shop takes 380 ml, a family store 1.5 L: one of the two.
        ConstraintIn(kind="excludes", option="W380", other="W1500"),
        # The new oolong is placed beside the flagship jasmine tea.
        ConstraintIn(kind="requires", option="OOLONG", other="JASMINE"),
    ],
)


async def insert_cpq(session: AsyncSession, actor: Principal) -> None:
    """A summer bundle and a new store's starter assortment, through the catalog's CPQ."""
    await create_bundle(session, actor, SUMMER_COMBO)
    await create_configurable(session, actor, STORE_STARTER)


async def insert_quote(
    session: AsyncSession, dealer: Principal, settings: Settings, now: datetime
) -> None:
    """dealer01 asks for a canteen's price on water, below its limits: waiting for HQ."""
    quote = await create_quote(
        session,
        PricingCache(),
        dealer,
        currency=settings.currency,
        now=now,
        body=QuoteCreate(
            id=uuid.uuid4(),
            lines=[
                QuoteLineIn(sku="SKU00001", qty=300, requested_unit_price=18_50),
                QuoteLineIn(sku="SKU00003", qty=100),
            ],
            note="杭州某中学食堂学期供水团购，申请特价",
            valid_days=30,
        ),
        default_valid_days=settings.quote_valid_days,
    )
    await request_approval(session, dealer, quote.id, now, "学校长期团购，量大稳定，请总部支持")


async def insert_claim(
    session: AsyncSession,
    rep: Principal,
    dealer_id: uuid.UUID,
    promotion_id: uuid.UUID,
    now: datetime,
) -> None:
    """rep1 opens a display-fee claim for a shop; the photos are still to be attached."""
    body = ClaimCreate(
        id=uuid.uuid4(),
        promotion_id=promotion_id,
        dealer_id=dealer_id,
        note="西湖区利民便利 本月端架陈列，照片待上传",
    )
    await create_claim(session, rep, body, now)


def brand_today(settings: Settings) -> date:
    """Today in the brand's time zone (promotion windows are whole days there)."""
    return datetime.now(ZoneInfo(settings.timezone)).date()
