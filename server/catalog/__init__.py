"""Catalog (商品): categories, products, SKUs, bundles and configurable products.

Below dealers, price lists, promotions and orders. Other domains use (never the models):

    read_revision(executor) -> int / bump_revision(session)   the catalog revision counter
    existing_sku_codes(session, codes) -> {code}
    known_category_codes(session, codes) -> {code}
    sku_ids_by_code(session, codes) -> {code: id}
    sku_codes_in_categories(session, category_codes, among=None) / sku_names(session, codes)
    ``server.catalog.read``: the statements pricing runs on catalog tables (SKU rules,
    dealer pages, active bundles, the revision as a subquery) and ``require_sku`` /
    ``get_active_sku``
    ``server.catalog.schemas``: the catalog's response shapes
"""

from server.catalog.models import ItemStatus
from server.catalog.read import (
    REVISION_SQL,
    active_bundles,
    get_active_sku,
    is_active,
    require_sku,
    revision_scalar,
    sku_page_select,
    sku_rules_select,
)
from server.catalog.service import (
    bump_revision,
    existing_sku_codes,
    known_category_codes,
    read_revision,
    sku_codes_in_categories,
    sku_ids_by_code,
    sku_names,
)

__all__ = [
    "REVISION_SQL",
    "ItemStatus",
    "active_bundles",
    "bump_revision",
    "existing_sku_codes",
    "get_active_sku",
    "is_active",
    "known_category_codes",
    "read_revision",
    "require_sku",
    "revision_scalar",
    "sku_codes_in_categories",
    "sku_ids_by_code",
    "sku_names",
    "sku_page_select",
    "sku_rules_select",
]
