"""Every domain's models, imported once so the metadata is complete (Alembic, tests)."""

from __future__ import annotations

from sqlalchemy import MetaData

from server.audit import models as audit_models
from server.catalog import models as catalog_models
from server.db.base import Base
from server.dealers import models as dealer_models
from server.identity import models as identity_models
from server.pricelists import models as pricelist_models
from server.quotes import models as quote_models
from server.regions import models as region_models
from server.warehouses import models as warehouse_models

target_metadata: list[MetaData] = [Base.metadata]

__all__ = [
    "audit_models",
    "catalog_models",
    "dealer_models",
    "identity_models",
    "pricelist_models",
    "quote_models",
    "region_models",
    "target_metadata",
    "warehouse_models",
]
