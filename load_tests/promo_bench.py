"""In-process benchmark of promotions and claims.

    python -m load_tests.promo_bench --json

prints ``cart_lines``, ``promotions``, ``cart_p50_ms`` (a 50-line cart priced through
``price_for_dealer`` -- database loading with a warm cache plus the pipeline -- with 30
live promotions, on an embedded SQLite database) and ``claim_3_receipts_s`` (one claim
with three synthetic receipt photos read by the real OCR engine in the job's OCR thread,
checked and decided; the engine is warmed first, as a running worker would be).
Figures are measurements, never assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from sqlalchemy import select

from ocr.synth import generate
from server.catalog.models import Category, Product, Sku
from server.catalog.service import bump_revision
from server.claims.models import Claim, ClaimReceipt, ClaimStatus
from server.claims.scanning import process_claim, read_receipt
from server.claims.service import check_image
from server.db.engine import Database
from server.db.migrate import upgrade
from server.db.session import transaction
from server.dealers.models import Dealer, DealerTier
from server.identity.models import Role
from server.identity.principal import Principal
from server.pricelists.cart import price_for_dealer
from server.pricelists.loading import PricingCache
from server.pricelists.models import PriceListEntry, PriceListStatus, PriceListVersion
from server.pricing import CartLine, Scope
from server.promotions.models import Promotion
from server.promotions.schemas import EligibilityIn, Mechanic, PromotionIn
from server.promotions.service import create_promotion, publish_promotion
from server.settings import DatabaseSettings, StorageSettings
from server.storage.backends import LocalStorage
from server.trail import install_trail

HQ = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
MECHANICS = [
    {"kind": "percent_off", "percentOffBp": 500},
    {"kind": "amount_off", "amountOff": 20},
    {"kind": "special_price", "unitPrice": 900},
    {"kind": "threshold", "threshold": 50_000, "discount": 2_000, "repeat": True},
    {
        "kind": "tiered",
        "tiers": [
            {"threshold": 10_000, "discount": 300},
            {"threshold": 100_000, "discount": 5_000},
        ],
    },
    {"kind": "buy_get", "buyQty": 10, "giftSku": "S0000", "giftQty": 1, "maxGifts": 5},
]


async def _seed(db: Database, skus: list[tuple[str, str]]) -> uuid.UUID:
    async with transaction(db) as s:
        s.add(DealerTier(code="core", name_zh="核心", name_en="Core"))
        category = Category(id=uuid.uuid4(), code="C1", name="饮料")
        s.add(category)
        await s.flush()
        product = Product(
            id=uuid.uuid4(), code="P1", name="饮料", brand="B", category_id=category.id
        )
        s.add(product)
        await s.flush()
        for code, name in skus:
            s.add(Sku(id=uuid.uuid4(), code=code, product_id=product.id, name=name))
        dealer = Dealer(
            id=uuid.uuid4(), code="D1", name="经销商", tier_code="core", segments=["ka"]
        )
        s.add(dealer)
        pl = PriceListVersion(
            id=uuid.uuid4(),
            code="BASE",
            version=1,
            name="BASE",
            scope=Scope.DEFAULT,
            currency="CNY",
            status=PriceListStatus.PUBLISHED,
            published_at=datetime.now(UTC),
        )
        s.add(pl)
        await s.flush()
        for n, (code, _) in enumerate(skus):
            s.add(
                PriceListEntry(
                    price_list_id=pl.id,
                    sku_code=code,
                    unit_price=1_000 + 37 * n,
                    break_kind="range",
                    breaks=[],
                )
            )
        await bump_revision(s)
    return dealer.id


async def _promotions(db: Database, count: int, skus: list[str]) -> None:
    for n in range(count):
        mechanic = MECHANICS[n % len(MECHANICS)]
        body = PromotionIn(
            code=f"PR{n:03d}",
            name=f"促销 {n}",
            mechanic=msgspec.convert(mechanic, Mechanic),
            eligibility=EligibilityIn(skus=skus[n % 10 :: 7], tiers=["core"] if n % 2 else []),
            priority=n % 5,
            exclusive_group=f"g{n % 4}" if n % 3 == 0 else None,
        )
        async with transaction(db) as s:
            p = await create_promotion(s, HQ, body, "Asia/Shanghai")
            await publish_promotion(s, HQ, p.id)


async def cart_p50(db: Database, dealer_id: uuid.UUID, lines: int, rounds: int) -> float:
    cache = PricingCache()
    cart = [CartLine(sku=f"S{n:04d}", qty=3 + n % 20) for n in range(lines)]
    timings: list[float] = []
    for _ in range(rounds + 5):
        async with db.session() as s:
            started = time.perf_counter()
            await price_for_dealer(
                s, cache, dealer_id, currency="CNY", now=datetime.now(UTC), lines=cart
            )
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings[5:])


async def claim_seconds(
    db: Database, dealer_id: uuid.UUID, storage: LocalStorage, receipts: list[bytes]
) -> float:
    async with transaction(db) as s:
        promo = (await s.execute(select(Promotion).where(Promotion.code == "SELLOUT"))).scalar_one()
        claim = Claim(
            id=uuid.uuid4(),
            dealer_id=dealer_id,
            promotion_id=promo.id,
            created_by=HQ.user_id,
            status=ClaimStatus.PROCESSING,
            amount=5_000,
            reasons=[],
            version=0,
            submitted_at=datetime.now(UTC),
        )
        s.add(claim)
        await s.flush()
        for data in receipts:
            rid = uuid.uuid4()
            key = f"claims/{dealer_id}/{claim.id}/{rid}"
            await storage.put(key, data, check_image(data))
            s.add(
                ClaimReceipt(
                    id=rid,
                    claim_id=claim.id,
                    dealer_id=dealer_id,
                    storage_key=key,
                    content_type=check_image(data),
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                )
            )
    started = time.perf_counter()
    await process_claim(db, storage, read_receipt, claim.id)
    elapsed = time.perf_counter() - started
    async with db.session() as s:
        decided = await s.get(Claim, claim.id)
        assert decided is not None and decided.status is not ClaimStatus.PROCESSING
    return elapsed


async def main(lines: int, promotions: int, rounds: int, with_claim: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        db = Database(DatabaseSettings(url=url))
        install_trail(db)  # publishing and claim decisions join the approval trail
        synth = [generate(1000 + n, degrade=False, language="zh") for n in range(3)]
        skus = [(f"S{n:04d}", f"商品{n}") for n in range(lines)]
        skus += [(f"R{n}", item.name) for n, r in enumerate(synth) for item in r.labels.items[:1]]
        dealer_id = await _seed(db, skus)
        await _promotions(db, promotions, [code for code, _ in skus[:lines]])
        result: dict[str, object] = {
            "cart_lines": lines,
            "promotions": promotions,
            "cart_p50_ms": round(await cart_p50(db, dealer_id, lines, rounds), 3),
        }
        if with_claim:
            body = PromotionIn(
                code="SELLOUT",
                name="核销",
                mechanic=msgspec.convert(
                    {"kind": "sell_out", "amount": 5000, "autoApproveLimit": 10000}, Mechanic
                ),
                eligibility=EligibilityIn(skus=[f"R{n}" for n in range(3)]),
            )
            async with transaction(db) as s:
                p = await create_promotion(s, HQ, body, "Asia/Shanghai")
                await publish_promotion(s, HQ, p.id)
            storage = LocalStorage(
                StorageSettings(local_dir=str(Path(tmp) / "storage")), "http://bench", "k" * 40
            )
            await read_receipt(synth[0].image)  # warm the engine in the OCR thread
            result["claim_3_receipts_s"] = round(
                await claim_seconds(db, dealer_id, storage, [r.image for r in synth]), 3
            )
        await db.dispose()
        return result


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--promotions", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--no-claim", action="store_true", help="skip the OCR claim")
    args = parser.parse_args()
    result = asyncio.run(main(args.lines, args.promotions, args.rounds, not args.no_claim))
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    cli()
