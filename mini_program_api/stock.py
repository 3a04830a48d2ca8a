"""Stock as dealers see it: bands (in stock / low / out), never exact figures."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.identity.guards import requires_dealer
from server.identity.principal import Principal
from server.inventory import dealer_stock_bands
from server.inventory.schemas import SkuBandsOut, WarehouseBandOut

SkuIds = Annotated[list[uuid.UUID], QueryParameter(name="skuId", min_items=1, max_items=200)]
WarehouseId = Annotated[uuid.UUID | None, QueryParameter(name="warehouseId")]


class StockController(Controller):
    path = "/mp/stock"
    tags = ("mini-program: stock",)
    guards = (requires_dealer,)

    @get("/", summary="Stock bands of SKUs", opt={"problems": (404,)})
    async def bands(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        sku_ids: SkuIds,
        warehouse_id: WarehouseId = None,
    ) -> list[SkuBandsOut]:
        """In stock / low / out for each SKU, overall and per warehouse serving my regions."""
        assert principal.dealer_id is not None
        rows = await dealer_stock_bands(db_session, principal.dealer_id, sku_ids, warehouse_id)
        return [
            SkuBandsOut(
                sku_id=r.sku_id,
                sku_code=r.sku_code,
                sku_name=r.sku_name,
                band=r.band,
                warehouses=[
                    WarehouseBandOut(warehouse_id=w.warehouse_id, band=w.band) for w in r.warehouses
                ],
            )
            for r in rows
        ]
