"""Regions (地区): the tree of sales regions that prices, warehouses and dealers refer to.

The bottom domain beside identity. Other domains use (never the models):

    ancestry(session, code) -> [code, parent, ...]           most specific first
    known_region_codes(executor, codes) -> {code}
    region_exists(session, code) -> bool
    require_region(session, code)                           or 404
    region_parents(executor, codes) -> [(code, parent)]
    ancestry_cte(array=) -> CTE (code, parent, depth)        for allocation's statement
"""

from server.regions.read import (
    MAX_REGION_DEPTH,
    ancestry_cte,
    known_region_codes,
    region_exists,
    region_parents,
    require_region,
)
from server.regions.service import ancestry

__all__ = [
    "MAX_REGION_DEPTH",
    "ancestry",
    "ancestry_cte",
    "known_region_codes",
    "region_exists",
    "region_parents",
    "require_region",
]
