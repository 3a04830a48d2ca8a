"""The demo brand, 青岚 (Qinglan): drinks and snacks, sold by the case to dealers.

Prices are dealer (ex-warehouse) prices per case in fen, about 60-70% of the shelf price a
shop asks: a case of 24 bottles of 550 ml water is ¥24.00 (¥1.00 a bottle, ¥2 on the
shelf), a case of twelve 1.5 L bottles ¥27.60. ``monthly`` is how many cases the brand sells
in a month across the country: stock per warehouse follows from it.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.schemas import CategoryCreate, ProductCreate, SkuCreate
from server.catalog.service import create_category, create_product, create_sku
from server.identity.principal import Principal

BRAND = "青岚"
# The brand's GS1 company prefix (69: China); every barcode carries its check digit.
GS1_PREFIX = "6923755"

CATEGORIES = [
    ("water", "包装饮用水"),
    ("tea", "茶饮料"),
    ("juice", "果汁"),
    ("functional", "功能饮料"),
    ("coffee", "即饮咖啡"),
    ("snack", "休闲零食"),
    ("noodle", "方便面"),
]
# (code, name, category)
PRODUCTS = [
    ("P-WATER", "青岚天然饮用水", "water"),
    ("P-MINERAL", "青岚天然矿泉水", "water"),
    ("P-SODA", "青岚苏打水", "water"),
    ("P-JASMINE", "青岚茉莉花茶", "tea"),
    ("P-ICETEA", "青岚冰红茶", "tea"),
    ("P-LEMONTEA", "青岚柠檬茶", "tea"),
    ("P-OOLONG", "青岚无糖乌龙茶", "tea"),
    ("P-GREENTEA", "青岚无糖绿茶", "tea"),
    ("P-NFC", "青岚NFC橙汁", "juice"),
    ("P-ORANGE", "青岚橙汁饮料", "juice"),
    ("P-APPLE", "青岚苹果汁", "juice"),
    ("P-MANGO", "青岚芒果汁", "juice"),
    ("P-ELECTRO", "青岚电解质水", "functional"),
    ("P-VITAMIN", "青岚维生素水", "functional"),
    ("P-LATTE", "青岚拿铁咖啡", "coffee"),
    ("P-AMERICANO", "青岚美式咖啡", "coffee"),
    ("P-CHIPS", "青岚薯片", "snack"),
    ("P-CRACKER", "青岚苏打饼干", "snack"),
    ("P-NUTS", "青岚每日坚果", "snack"),
    ("P-BEEF", "青岚红烧牛肉面", "noodle"),
    ("P-PICKLE", "青岚老坛酸菜面", "noodle"),
]


class Item(NamedTuple):
    """One SKU: sold by the case (``per_case`` units of ``size``) at ``price`` fen a case."""

    code: str
    product: str
    variant: str
    size: str
    per_case: str
    price: int
    monthly: int
    breaks: tuple[tuple[int, int], ...] = ()
    """Volume breaks ``(from cases, price)`` of the standard list (range kind)."""


ITEMS = [
    Item("SKU00001", "P-WATER", "", "550ml", "24瓶", 2400, 9000, ((50, 2300), (200, 2200))),
    Item("SKU00002", "P-WATER", "", "380ml", "24瓶", 2160, 4000, ((50, 2060),)),
    Item("SKU00003", "P-WATER", "", "1.5L", "12瓶", 2760, 3000, ((50, 2640),)),
    Item("SKU00004", "P-WATER", "", "5L", "4桶", 2520, 1500, ((30, 2400),)),
    Item("SKU00005", "P-MINERAL", "", "500ml", "24瓶", 4320, 800),
    Item("SKU00006", "P-SODA", "原味", "410ml", "15瓶", 4050, 600),
    Item("SKU00007", "P-SODA", "柠檬味", "410ml", "15瓶", 4050, 500),
    Item("SKU00008", "P-JASMINE", "", "500ml", "15瓶", 3600, 2500, ((30, 3450),)),
    Item("SKU00009", "P-ICETEA", "", "500ml", "15瓶", 3150, 3000, ((30, 3000),)),
    Item("SKU00010", "P-ICETEA", "", "1L", "12瓶", 4200, 800),
    Item("SKU00011", "P-LEMONTEA", "", "500ml", "15瓶", 3450, 1500),
    Item("SKU00012", "P-OOLONG", "", "500ml", "15瓶", 4500, 700),
    Item("SKU00013", "P-GREENTEA", "", "500ml", "15瓶", 4500, 600),
    Item("SKU00014", "P-NFC", "", "300ml", "12瓶", 7200, 300),
    Item("SKU00015", "P-ORANGE", "", "1.25L", "6瓶", 3300, 700),
    Item("SKU00016", "P-APPLE", "", "450ml", "15瓶", 4800, 400),
    Item("SKU00017", "P-MANGO", "", "450ml", "15瓶", 4800, 400),
    Item("SKU00018", "P-ELECTRO", "青柠味", "600ml", "15瓶", 4500, 1200),
    Item("SKU00019", "P-ELECTRO", "西柚味", "600ml", "15瓶", 4500, 900),
    Item("SKU00020", "P-VITAMIN", "", "500ml", "15瓶", 5400, 500),
    Item("SKU00021", "P-LATTE", "", "270ml", "15瓶", 6300, 500),
    Item("SKU00022", "P-AMERICANO", "", "270ml", "15瓶", 5850, 400),
    Item("SKU00023", "P-CHIPS", "原味", "70g", "20袋", 8400, 600),
    Item("SKU00024", "P-CHIPS", "番茄味", "70g", "20袋", 8400, 500),
    Item("SKU00025", "P-CRACKER", "", "400g", "12袋", 7200, 400),
    Item("SKU00026", "P-NUTS", "", "750g礼盒", "4盒", 25600, 150),
    Item("SKU00027", "P-BEEF", "", "五连包", "6提", 5580, 1200),
    Item("SKU00028", "P-BEEF", "", "桶装", "12桶", 3960, 900),
    Item("SKU00029", "P-PICKLE", "", "五连包", "6提", 5580, 900),
    Item("SKU00030", "P-PICKLE", "", "桶装", "12桶", 3960, 700),
]
BY_CODE = {item.code: item for item in ITEMS}


def sku_name(item: Item) -> str:
    """青岚天然饮用水 550ml, 青岚苏打水 柠檬味 410ml."""
    product = next(name for code, name, _ in PRODUCTS if code == item.product)
    return " ".join(part for part in (product, item.variant, item.size) if part)


def barcode(item: Item) -> str:
    """An EAN-13 under the brand's prefix, with its check digit."""
    body = GS1_PREFIX + item.code[-5:]
    odd_even = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - odd_even % 10) % 10)


async def insert_catalog(session: AsyncSession, actor: Principal) -> None:
    """Categories, products and SKUs through the catalog's own services."""
    categories = {}
    for order, (code, name) in enumerate(CATEGORIES):
        category = await create_category(
            session, actor, CategoryCreate(code=code, name=name, sort_order=order)
        )
        categories[code] = category.id
    products = {}
    for code, name, category in PRODUCTS:
        product = await create_product(
            session,
            actor,
            ProductCreate(code=code, name=name, brand=BRAND, category_id=categories[category]),
        )
        products[code] = product.id
    for item in ITEMS:
        await create_sku(
            session,
            actor,
            SkuCreate(
                code=item.code,
                product_id=products[item.product],
                name=sku_name(item),
                spec=f"{item.size}×{item.per_case}",
                unit="箱",
                barcode=barcode(item),
            ),
        )
