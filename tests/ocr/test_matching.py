"""SKU matching of printed item names against a promotion's products."""

from __future__ import annotations

import pytest

from ocr.matching import Product, match_item, match_items
from ocr.receipt import LineItem

PRODUCTS = (
    Product(
        sku="CK500", name="可口可乐 500ml", aliases=("可乐500ML",), barcodes=("6901234567890",)
    ),
    Product(sku="CK1L", name="可口可乐 1L"),
    Product(sku="NF550", name="农夫山泉 饮用天然水 550ml"),
    Product(sku="MILO1K", name="MILO Activ-Go 1kg"),
    Product(sku="COKE500", name="COCA COLA 500ML"),
)


@pytest.mark.parametrize(
    ("printed", "sku"),
    [
        ("可口可乐500ml", "CK500"),
        ("可口可樂500m1", "CK500"),  # traditional character and an OCR'd "l" as "1"
        ("农夫山泉550ml", "NF550"),
        ("MILO ACTIV GO 1KG", "MILO1K"),
        ("COCA-COLA 500ML", "COKE500"),
        ("可口可乐1L", "CK1L"),  # the pack size picks the SKU
    ],
)
def test_names_match(printed: str, sku: str) -> None:
    match = match_item(LineItem(name=printed), 0, PRODUCTS)
    assert match.sku == sku
    assert match.method == "name"
    assert match.score >= 80


@pytest.mark.parametrize("printed", ["百事可乐500ml", "雪碧500ml", "PEPSI COLA 500ML", "面包"])
def test_other_products_do_not_match(printed: str) -> None:
    match = match_item(LineItem(name=printed), 0, PRODUCTS)
    assert match.sku is None
    assert match.method == "none"


def test_barcode_wins_over_name() -> None:
    item = LineItem(name="unreadable", barcode="6901234567890")
    match = match_item(item, 3, PRODUCTS)
    assert (match.sku, match.method, match.score, match.item_index) == (
        "CK500",
        "barcode",
        100.0,
        3,
    )


def test_match_items_keeps_order_and_quantities() -> None:
    from decimal import Decimal

    items = [LineItem(name="农夫山泉550ml", qty=Decimal(3), amount=600), LineItem(name="雪碧500ml")]
    matches = match_items(items, PRODUCTS)
    assert [(m.item_index, m.sku, m.qty) for m in matches] == [
        (0, "NF550", Decimal(3)),
        (1, None, None),
    ]
