"""Every domain's models, imported once so the metadata is complete (Alembic, tests)."""

from __future__ import annotations

from sqlalchemy import MetaData

from server.accounts import models as account_models
from server.announcements import models as announcement_models
from server.approvals import models as approval_models
from server.audit import models as audit_models
from server.catalog import models as catalog_models
from server.claims import models as claim_models
from server.db.base import Base
from server.dealers import models as dealer_models
from server.identity import models as identity_models
from server.inventory import models as inventory_models
from server.invoices import models as invoice_models
from server.jobs import models as job_models
from server.notifications import models as notification_models
from server.orders import models as order_models
from server.pricelists import models as pricelist_models
from server.promotions import models as promotion_models
from server.quotes import models as quote_models
from server.regions import models as region_models
from server.returns import models as return_models
from server.trail import models as trail_models
from server.warehouses import models as warehouse_models
from sync import metadata as sync_metadata

target_metadata: list[MetaData] = [Base.metadata, sync_metadata]

__all__ = [
    "account_models",
    "announcement_models",
    "approval_models",
    "audit_models",
    "catalog_models",
    "claim_models",
    "dealer_models",
    "identity_models",
    "inventory_models",
    "invoice_models",
    "job_models",
    "notification_models",
    "order_models",
    "pricelist_models",
    "promotion_models",
    "quote_models",
    "region_models",
    "return_models",
    "target_metadata",
    "trail_models",
    "warehouse_models",
]
