"""The ``shortLines`` of a ``stock_insufficient`` problem name each SKU by code and name too."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.service import sku_labels


async def labelled(session: AsyncSession, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``lines`` (each with a ``skuId``) with the SKU's ``skuCode`` and ``skuName`` added."""
    labels = await sku_labels(session, [uuid.UUID(str(line["skuId"])) for line in lines])
    answer: list[dict[str, Any]] = []
    for line in lines:
        code, name = labels.get(uuid.UUID(str(line["skuId"])), ("", ""))
        answer.append({**line, "skuCode": code, "skuName": name})
    return answer
