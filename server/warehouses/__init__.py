"""Warehouses that ship to dealers; each is located in a region.

Other domains use (never the models):

    require_warehouse(session, warehouse_id)               or 404
    warehouse_code(session, warehouse_id) -> str | None
    warehouse_ids_by_code(session, codes) -> {code: id}
    warehouses_table()                                     columns for allocation's statement
"""

from server.warehouses.read import (
    require_warehouse,
    warehouse_code,
    warehouse_ids_by_code,
    warehouses_table,
)

__all__ = ["require_warehouse", "warehouse_code", "warehouse_ids_by_code", "warehouses_table"]
