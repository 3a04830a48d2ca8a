"""SKU matching of line items against a promotion's products (rapidfuzz scores 0-100)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

import msgspec
from rapidfuzz import fuzz, utils

from ocr.receipt import LineItem
from ocr.textnorm import normalize

MatchMethod = Literal["barcode", "name", "none"]


class Product(msgspec.Struct, frozen=True, kw_only=True):
    """A promoted product as the claims domain knows it."""

    sku: str
    name: str
    aliases: tuple[str, ...] = ()
    barcodes: tuple[str, ...] = ()


class SkuMatch(msgspec.Struct, frozen=True, kw_only=True):
    """The best product for one line item, or none when nothing scored high enough."""

    item_index: int
    item_name: str
    sku: str | None
    score: float
    method: MatchMethod
    qty: Decimal | None = None
    amount: int | None = None


_SPEC = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:ml|m1|l|g|kg|克|千克|毫升|升|片|包|袋|瓶|罐|听|支|pcs|pc)", re.I
)


def _prepare(text: str) -> str:
    return utils.default_process(normalize(text)).replace(" ", "")


def _split_spec(text: str) -> tuple[str, frozenset[str]]:
    """('可口可乐', {'500'}) from '可口可乐 500ml': the name and its pack sizes."""
    normal = normalize(text)
    sizes = frozenset(m.group(1) for m in _SPEC.finditer(normal))
    return _prepare(_SPEC.sub(" ", normal)), sizes


def name_score(receipt_name: str, product_name: str) -> float:
    """0-100: how well a printed (often abbreviated) name fits a product name.

    Names are compared without their pack sizes (rapidfuzz ratio, or partial ratio for an
    abbreviation that is a part of the full name); a different pack size costs 40 %.
    """
    query, query_sizes = _split_spec(receipt_name)
    choice, choice_sizes = _split_spec(product_name)
    if not query or not choice:
        return 0.0
    score = fuzz.ratio(query, choice)
    if len(query) >= 2:
        partial = fuzz.partial_ratio(query, choice)
        if len(query) <= len(choice):  # an abbreviation of the product's name
            score = max(score, 0.95 * partial)
        else:  # the product's name inside a longer printed name: "百事可乐" holds "可乐"
            score = max(score, (0.5 + 0.5 * len(choice) / len(query)) * partial)
    words = utils.default_process(_SPEC.sub(" ", normalize(receipt_name))).split()
    product_words = utils.default_process(_SPEC.sub(" ", normalize(product_name))).split()
    if len(words) >= 2 and len(product_words) >= 2:
        score = max(score, 0.95 * fuzz.token_set_ratio(" ".join(words), " ".join(product_words)))
    if query_sizes and choice_sizes and not query_sizes & choice_sizes:
        score *= 0.6
    return float(score)


def match_item(
    item: LineItem, index: int, products: Sequence[Product], *, threshold: float = 80.0
) -> SkuMatch:
    """Best product for one item: an exact barcode wins, else the best fuzzy name or alias."""
    if item.barcode:
        for product in products:
            if item.barcode in product.barcodes:
                return SkuMatch(
                    item_index=index,
                    item_name=item.name,
                    sku=product.sku,
                    score=100.0,
                    method="barcode",
                    qty=item.qty,
                    amount=item.amount,
                )
    scored = [
        (name_score(item.name, name), product.sku)
        for product in products
        for name in (product.name, *product.aliases)
    ]
    best = max(scored, key=lambda pair: pair[0], default=None)
    if best is None or best[0] < threshold:
        return SkuMatch(
            item_index=index,
            item_name=item.name,
            sku=None,
            score=round(best[0], 1) if best else 0.0,
            method="none",
            qty=item.qty,
            amount=item.amount,
        )
    return SkuMatch(
        item_index=index,
        item_name=item.name,
        sku=best[1],
        score=round(best[0], 1),
        method="name",
        qty=item.qty,
        amount=item.amount,
    )


def match_items(
    items: Sequence[LineItem], products: Sequence[Product], *, threshold: float = 80.0
) -> tuple[SkuMatch, ...]:
    """Match every line item against the products."""
    return tuple(
        match_item(item, index, products, threshold=threshold) for index, item in enumerate(items)
    )
