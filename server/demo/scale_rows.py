"""The scale data set's rows, generated from one ``random.Random`` (the same seed, the same
codes, names, amounts and statuses; times are relative to the moment of the load).

Each function returns ``(columns, records)`` for ``server.db.fast.copy_rows``: plain tuples in
column order, so that 200,000 orders and their lines cost seconds, not minutes.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

Rows = tuple[tuple[str, ...], list[tuple[Any, ...]]]

CITY_WORDS = ("杭州", "宁波", "南京", "苏州", "广州", "深圳", "成都", "绵阳", "温州", "无锡")
SHOP_WORDS = (
    "鑫源",
    "恒丰",
    "利民",
    "金陵",
    "裕丰",
    "华润",
    "旺佳",
    "兴隆",
    "万家",
    "佳禾",
    "顺发",
)
SHOP_WORDS += ("永盛", "福瑞", "嘉禾", "和信", "隆昌", "新达", "广源", "盛世", "宏图", "瑞丰")
KINDS = ("商贸有限公司", "食品批发部", "便利配送站", "副食品商行", "食杂店", "贸易公司", "超市配送")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
GIVEN = ("伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明")
FLAVOURS = ("原味", "柠檬味", "蜜桃味", "青提味", "荔枝味", "无糖", "低糖", "加浓", "清爽", "经典")
SIZES = ("250ml", "330ml", "410ml", "500ml", "550ml", "1L", "1.5L", "2L", "60g", "100g")
# Terminal states an order reaches with age; (status, weight) by age in days.
RECENT = (("submitted", 8), ("approved", 30), ("allocated", 30), ("partially_shipped", 8))
RECENT += (("pending_confirmation", 2), ("cancelled", 2))
OLDER = (("completed", 86), ("received", 4), ("shipped", 2), ("cancelled", 4), ("rejected", 2))
OLDER += (("submitted", 2),)
CLAIM_STATES = (("approved", 78), ("rejected", 9), ("review", 8), ("processing", 2), ("open", 3))


class Dealer(NamedTuple):
    id: uuid.UUID
    code: str
    tier: str
    regions: tuple[str, ...]


class Sku(NamedTuple):
    id: uuid.UUID
    code: str
    name: str
    price: int


def new_id(rng: random.Random) -> uuid.UUID:
    """A version-4 UUID drawn from ``rng`` (deterministic with the seed)."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _weighted(rng: random.Random, table: Sequence[tuple[str, int]]) -> str:
    return rng.choices([s for s, _ in table], [w for _, w in table])[0]


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))


def dealers(
    rng: random.Random, count: int, regions: Sequence[str], now: datetime
) -> tuple[list[Dealer], Rows, Rows]:
    """``count`` dealers (codes ``SC00001``...) with their authorized regions."""
    made: list[Dealer] = []
    rows: list[tuple[Any, ...]] = []
    links: list[tuple[Any, ...]] = []
    for n in range(1, count + 1):
        tier = _weighted(rng, (("core", 15), ("growth", 55), ("watch", 30)))
        own = tuple(sorted(rng.sample(list(regions), 2 if rng.random() < 0.1 else 1)))
        dealer = Dealer(new_id(rng), f"SC{n:05d}", tier, own)
        made.append(dealer)
        name = rng.choice(CITY_WORDS) + rng.choice(SHOP_WORDS) + rng.choice(KINDS) + f"{n}号"
        created = now - timedelta(days=rng.uniform(100, 900))
        segment = "ka" if tier == "core" else "traditional"
        rows.append(
            (
                dealer.id,
                dealer.code,
                name,
                tier,
                "active",
                None,
                _person(rng),
                f"13{rng.randint(100000000, 999999999)}",
                "",
                [segment],
                created,
                created,
            )
        )
        links += [(dealer.id, r) for r in own]
    columns = ("id", "code", "name", "tier_code", "status", "parent_id", "contact_name")
    columns += ("contact_phone", "address", "segments", "created_at", "updated_at")
    return made, (columns, rows), (("dealer_id", "region_code"), links)


def catalog(
    rng: random.Random, count: int, categories: Sequence[uuid.UUID], now: datetime
) -> tuple[list[Sku], Rows, Rows]:
    """``count`` SKUs (codes ``SC000001``...), twenty to a product."""
    products: list[tuple[Any, ...]] = []
    skus: list[Sku] = []
    rows: list[tuple[Any, ...]] = []
    product_id = uuid.UUID(int=0)
    for n in range(count):
        if n % 20 == 0:
            product_id = new_id(rng)
            number = n // 20 + 1
            name = f"青岚{rng.choice(('茶饮', '果汁', '饮用水', '咖啡', '零食', '面'))}系列{number}"
            products.append(
                (
                    product_id,
                    f"SCP{number:05d}",
                    name,
                    "青岚",
                    rng.choice(categories),
                    "active",
                    now,
                    now,
                )
            )
        sku = Sku(new_id(rng), f"SC{n + 1:06d}", "", rng.randint(12_00, 240_00))
        name = f"{products[-1][2]} {rng.choice(FLAVOURS)} {rng.choice(SIZES)}"
        sku = sku._replace(name=name)
        skus.append(sku)
        barcode = f"69{rng.randint(10**10, 10**11 - 1)}"
        rows.append(
            (
                sku.id,
                sku.code,
                product_id,
                name,
                "×24",
                "箱",
                24,
                1,
                False,
                barcode,
                "active",
                "",
                "",
                [],
                now,
                now,
            )
        )
    product_columns = ("id", "code", "name", "brand", "category_id", "status")
    product_columns += ("created_at", "updated_at")
    columns = ("id", "code", "product_id", "name", "spec", "unit", "pack_size", "min_order_qty")
    columns += ("whole_cases", "barcode", "status", "pinyin", "pinyin_initials", "image_keys")
    columns += ("created_at", "updated_at")
    return skus, (product_columns, products), (columns, rows)


def price_items(
    rng: random.Random, price_list_id: uuid.UUID, skus: Sequence[Sku], factor: float
) -> Rows:
    """One item per SKU at ``factor`` times its base price (give or take 3%)."""
    rows = [
        (
            price_list_id,
            s.code,
            max(1, int(s.price * factor * rng.uniform(0.97, 1.03))),
            "range",
            [],
        )
        for s in skus
    ]
    return ("price_list_id", "sku_code", "unit_price", "break_kind", "breaks"), rows


ORDER_COLUMNS = ("id", "dealer_id", "status", "content_hash", "quote_id", "address_id")
ORDER_COLUMNS += ("ship_region_code", "currency", "list_amount", "discount", "amount", "captured")
ORDER_COLUMNS += ("allow_backorder", "review_reasons", "amendments", "basis_fingerprint", "note")
ORDER_COLUMNS += ("created_by", "created_at", "updated_at")
LINE_COLUMNS = ("order_id", "line", "sku_id", "sku_code", "sku_name", "qty", "gift")
LINE_COLUMNS += ("unit_price", "amount", "reserved", "shipped")
EVENT_COLUMNS = ("id", "order_id", "seq", "from_status", "to_status", "actor_id", "actor_role")
EVENT_COLUMNS += ("comment", "at")
SHIPMENT_COLUMNS = ("id", "order_id", "carrier", "tracking_no", "lines", "captured")
SHIPMENT_COLUMNS += ("shipped_at", "actor_id")
AUDIT_COLUMNS = ("id", "at", "actor_id", "actor_role", "action", "entity", "entity_id", "data")
AUDIT_COLUMNS += ("request_id",)
# The trail an order in each status went through (after "submitted", or straight to approved).
PATHS = {
    "pending_confirmation": ("pending_confirmation",),
    "submitted": ("submitted",),
    "approved": ("approved",),
    "allocated": ("approved", "allocated"),
    "partially_shipped": ("approved", "allocated", "partially_shipped"),
    "shipped": ("approved", "allocated", "shipped"),
    "received": ("approved", "allocated", "shipped", "received"),
    "completed": ("approved", "allocated", "shipped", "received", "completed"),
    "cancelled": ("approved", "cancelled"),
    "rejected": ("submitted", "rejected"),
}
SHIPPED = frozenset({"partially_shipped", "shipped", "received", "completed"})
REGIONS_ELSEWHERE = ("330000", "320000", "440000", "510000")


class OrderRows:
    """Accumulates the rows of many orders (one call of :meth:`add` per order)."""

    def __init__(self, rng: random.Random, hq: uuid.UUID, threshold: int) -> None:
        self.rng, self.hq, self.threshold = rng, hq, threshold
        self.orders: list[tuple[Any, ...]] = []
        self.lines: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.shipments: list[tuple[Any, ...]] = []
        self.audit: list[tuple[Any, ...]] = []

    def add(self, dealer: Dealer, skus: Sequence[Sku], at: datetime, now: datetime) -> None:
        """One order of ``dealer`` placed at ``at``, in a status that fits its age."""
        rng = self.rng
        order_id = new_id(rng)
        status = _weighted(rng, RECENT if now - at < timedelta(days=2) else OLDER)
        total = self._lines(order_id, status, rng.sample(list(skus), rng.randint(1, 4)))
        discount = total // 50 if rng.random() < 0.3 else 0
        amount = total - discount
        region = dealer.regions[0]
        reasons: list[str] = []
        if status in {"submitted", "rejected"}:
            if dealer.tier == "watch":
                reasons.append("watch_tier")
            if rng.random() < 0.3:
                region = rng.choice(REGIONS_ELSEWHERE)
                reasons.append("diversion")
            if amount > self.threshold or not reasons:
                reasons.append("amount_above_threshold")
        captured = amount if status in SHIPPED - {"partially_shipped"} else 0
        content = hashlib.sha256(order_id.bytes).hexdigest()
        self.orders.append(
            (
                order_id,
                dealer.id,
                status,
                content,
                None,
                None,
                region,
                "CNY",
                total,
                discount,
                amount,
                captured,
                False,
                reasons,
                [],
                "",
                "",
                None,
                at,
                at,
            )
        )
        self._trail(order_id, status, at, now, {"amount": amount, "review_reasons": reasons})
        if status in SHIPPED:
            self.shipments.append(
                (
                    new_id(rng),
                    order_id,
                    rng.choice(("顺丰速运", "德邦物流", "中通快运")),
                    f"SF{rng.randint(10**11, 10**12 - 1)}",
                    [],
                    captured,
                    at,
                    self.hq,
                )
            )

    def _lines(self, order_id: uuid.UUID, status: str, skus: Sequence[Sku]) -> int:
        total = 0
        reserved = status not in {"submitted", "pending_confirmation", "cancelled", "rejected"}
        reserved = reserved and status != "approved"
        for line, sku in enumerate(skus, start=1):
            qty = self.rng.choice((5, 10, 10, 20, 24, 50, 100))
            amount = qty * sku.price
            total += amount
            shipped = qty if status in SHIPPED and status != "partially_shipped" else 0
            held = qty if reserved else 0
            self.lines.append(
                (
                    order_id,
                    line,
                    sku.id,
                    sku.code,
                    sku.name,
                    qty,
                    False,
                    sku.price,
                    amount,
                    held,
                    shipped,
                )
            )
        return total

    def _trail(
        self, order_id: uuid.UUID, status: str, at: datetime, now: datetime, data: dict[str, Any]
    ) -> None:
        steps = PATHS[status]  # the first step is where placing put it (no review: approved)
        placed = steps[0]
        moment, previous = at, None
        span = max((now - at).total_seconds(), 60.0)
        for seq, step in enumerate(steps, start=1):
            hq = seq > 1
            actor, role = (self.hq, "hq_admin") if hq else (None, "dealer_admin")
            self.events.append(
                (new_id(self.rng), order_id, seq, previous, step, actor, role, "", moment)
            )
            previous = step
            moment = moment + timedelta(seconds=span / (len(steps) + 1))
        self.audit.append(
            (
                new_id(self.rng),
                at,
                None,
                "dealer_admin",
                "order.placed",
                "order",
                str(order_id),
                {**data, "status": placed},
                None,
            )
        )


CLAIM_COLUMNS = ("id", "dealer_id", "promotion_id", "rep_id", "created_by", "status", "currency")
CLAIM_COLUMNS += ("amount", "approved_amount", "note", "decided_by", "confidence", "reasons")
CLAIM_COLUMNS += ("reviewer_id", "review_comment", "submitted_at", "decided_at")
CLAIM_COLUMNS += ("payout_entry_id", "version", "created_at", "updated_at")
RECEIPT_COLUMNS = ("id", "dealer_id", "claim_id", "storage_key", "content_type", "size", "sha256")
RECEIPT_COLUMNS += ("status", "fields", "lines", "width", "height", "ocr_confidence")
RECEIPT_COLUMNS += ("fingerprint", "image_hash", "merchant_key", "number_key", "moment_key")
RECEIPT_COLUMNS += ("image_features", "verification", "error", "created_at", "scanned_at")
CLAIM_EVENT_COLUMNS = ("id", "dealer_id", "claim_id", "at", "actor_id", "kind", "status")
CLAIM_EVENT_COLUMNS += ("detail",)


class Promotion(NamedTuple):
    id: uuid.UUID
    code: str
    amount: int
    auto_limit: int


class ClaimRows:
    """Accumulates claims with one read receipt each, and their history."""

    def __init__(self, rng: random.Random, hq: uuid.UUID) -> None:
        self.rng, self.hq = rng, hq
        self.claims: list[tuple[Any, ...]] = []
        self.receipts: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.earlier: list[tuple[uuid.UUID, uuid.UUID]] = []  # approved: (claim, receipt)

    def add(self, dealer: Dealer, promotion: Promotion, rep: uuid.UUID, at: datetime) -> None:
        """One claim of ``dealer`` under ``promotion`` filed by ``rep`` at ``at``."""
        rng = self.rng
        claim_id, receipt_id = new_id(rng), new_id(rng)
        status = _weighted(rng, CLAIM_STATES)
        confidence = round(rng.uniform(0.6, 0.99), 2)
        reasons = self._reasons(status, promotion, confidence, receipt_id)
        decided = status in {"approved", "rejected"}
        decided_at = at + timedelta(hours=rng.uniform(0.1, 30)) if decided else None
        by = ("hq" if reasons else "auto") if decided else None
        approved = promotion.amount if status == "approved" else None
        submitted = at + timedelta(minutes=5) if status != "open" else None
        self.claims.append(
            (
                claim_id,
                dealer.id,
                promotion.id,
                rep,
                rep,
                status,
                "CNY",
                promotion.amount,
                approved,
                "门店端架陈列",
                by,
                confidence,
                reasons,
                self.hq if by == "hq" else None,
                "",
                submitted,
                decided_at,
                None,
                1,
                at,
                decided_at or submitted or at,
            )
        )
        self._receipt(dealer, claim_id, receipt_id, status, confidence, at)
        self._history(dealer, claim_id, status, rep, at, submitted, decided_at)
        if status == "approved":
            self.earlier.append((claim_id, receipt_id))

    def _reasons(
        self, status: str, promotion: Promotion, confidence: float, receipt: uuid.UUID
    ) -> list[dict[str, Any]]:
        if status not in {"review", "rejected"} and self.rng.random() < 0.9:
            return []
        if self.earlier and self.rng.random() < 0.15:
            earlier_claim, _ = self.rng.choice(self.earlier)
            return [
                {"code": "duplicate_content", "severity": "review", "receiptId": str(receipt)}
                | {"earlierClaimId": str(earlier_claim)}
            ]
        if confidence < 0.85:
            return [
                {"code": "low_confidence", "severity": "review", "confidence": f"{confidence:.2f}"}
                | {"minimum": "0.85"}
            ]
        amount = f"¥{promotion.amount // 100}.00"
        limit = f"¥{promotion.auto_limit // 100}.00"
        return [
            {"code": "above_auto_limit", "severity": "review", "amount": amount, "limit": limit}
        ]

    def _receipt(
        self,
        dealer: Dealer,
        claim_id: uuid.UUID,
        receipt_id: uuid.UUID,
        status: str,
        confidence: float,
        at: datetime,
    ) -> None:
        rng = self.rng
        number = f"{rng.randint(10**9, 10**10 - 1)}"
        total = rng.randint(20_00, 900_00)
        shop = rng.choice(CITY_WORDS) + rng.choice(SHOP_WORDS) + "便利店"
        day = at.date().isoformat()
        texts = [shop, f"单号:{number}", f"日期:{day}", "青岚茉莉花茶 500ml  x2  7.00"]
        texts += ["青岚天然饮用水 550ml  x6  12.00", f"合计:{total // 100}.{total % 100:02d}"]
        boxes = [
            {"text": t, "score": round(rng.uniform(0.8, 0.99), 3)}
            | {
                "box": [
                    [40, 60 + 50 * i],
                    [560, 60 + 50 * i],
                    [560, 95 + 50 * i],
                    [40, 95 + 50 * i],
                ]
            }
            for i, t in enumerate(texts)
        ]
        fields = {"merchant": shop, "receipt_no": number, "date": day, "total": total}
        scanned = status != "open"
        digest = hashlib.sha256(receipt_id.bytes).hexdigest()
        self.receipts.append(
            (receipt_id, dealer.id, claim_id, f"scale/receipts/{receipt_id}.jpg", "image/jpeg")
            + (180_000, digest, "scanned" if scanned else "uploaded")
            + ((fields, boxes) if scanned else (None, None))
            + (640, 480, confidence if scanned else None, digest[:32], digest[32:48])
            + (shop, f"{shop}|{number}", f"{shop}|{day}|{total}", None)
            + ({"matches": []} if scanned else None, None, at, at if scanned else None)
        )

    def _history(
        self,
        dealer: Dealer,
        claim_id: uuid.UUID,
        status: str,
        rep: uuid.UUID,
        at: datetime,
        submitted: datetime | None,
        decided: datetime | None,
    ) -> None:
        steps: list[tuple[datetime, uuid.UUID | None, str, str]] = [(at, rep, "created", "open")]
        if submitted is not None:
            steps.append((submitted, rep, "submitted", "processing"))
        if decided is not None:
            steps.append((decided, self.hq, status, status))
        elif status == "review":
            steps.append((submitted or at, None, "review", "review"))
        for moment, actor, kind, state in steps:
            self.events.append(
                (new_id(self.rng), dealer.id, claim_id, moment, actor, kind, state, {})
            )
