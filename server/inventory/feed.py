"""The ERP stock feed: bulk set or adjust on-hand stock, idempotent by batch id.

A batch id is claimed by inserting its row first, so a concurrent replay waits and then
conflicts. A replayed batch (same id, same items) answers the stored result and changes
nothing; the same id with other items is 409 ``feed_batch_mismatch``. Items are applied one by
one: an item that cannot apply (unknown code, count below what is reserved) is rejected
in the result without stopping the others, since the ERP can only correct it in a later batch.
"""

from __future__ import annotations

import hashlib
import uuid

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.catalog import sku_ids_by_code
from server.db.errors import DuplicateKey, duplicate_keys_raised
from server.errors import Conflict
from server.identity.principal import Principal
from server.inventory.models import MovementKind, StockFeedBatch
from server.inventory.schemas import FeedItem, FeedItemResult, StockFeedIn, StockFeedResult
from server.inventory.stock import MAX_ON_HAND, ensure_levels, move, read_level
from server.warehouses import warehouse_ids_by_code


def _content_hash(body: StockFeedIn) -> str:
    return hashlib.sha256(msgspec.json.encode(body.items)).hexdigest()


def _in_lock_order(
    body: StockFeedIn, warehouses: dict[str, uuid.UUID], skus: dict[str, uuid.UUID]
) -> list[tuple[int, FeedItem]]:
    """Items in the (warehouse, SKU) order every writer locks rows in, so feeds and
    reservations never wait on each other in a cycle (no deadlocks); ties keep batch order."""

    def key(pair: tuple[int, FeedItem]) -> tuple[str, str, int]:
        index, item = pair
        return (
            str(warehouses.get(item.warehouse_code, "")),
            str(skus.get(item.sku_code, "")),
            index,
        )

    return sorted(enumerate(body.items), key=key)


async def _stored_answer(
    session: AsyncSession, batch_id: str, digest: str
) -> StockFeedResult | None:
    """The stored result of an applied batch (as a replay), None if the id is new."""
    stmt = select(StockFeedBatch).where(StockFeedBatch.batch_id == batch_id)
    stored = (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()
    if stored is None:
        return None
    if stored.content_hash != digest:
        raise Conflict(
            "feed_batch_mismatch",
            "该批次号已用于不同的内容",
            "This batch id was already used with different content",
        )
    result = msgspec.convert(stored.result, StockFeedResult)
    return msgspec.structs.replace(result, replayed=True)


async def apply_stock_feed(
    session: AsyncSession, actor: Principal, body: StockFeedIn
) -> StockFeedResult:
    """Apply one ERP batch, or answer the stored result of a replayed one."""
    digest = _content_hash(body)
    answer = await _stored_answer(session, body.batch_id, digest)
    if answer is not None:
        return answer
    batch = StockFeedBatch(
        batch_id=body.batch_id, content_hash=digest, result={}, actor_id=actor.user_id
    )
    try:
        with duplicate_keys_raised():
            async with session.begin_nested():
                session.add(batch)
                await session.flush()
    except DuplicateKey as exc:
        # A twin of this batch committed while we waited on its key: answer as a replay.
        answer = await _stored_answer(session, body.batch_id, digest)
        if answer is not None:
            return answer
        raise Conflict(
            "feed_batch_in_progress", "该批次正在处理", "This batch is being applied"
        ) from exc

    warehouses = await warehouse_ids_by_code(session, {i.warehouse_code for i in body.items})
    skus = await sku_ids_by_code(session, {i.sku_code for i in body.items})
    await ensure_levels(
        session,
        [
            (warehouses[i.warehouse_code], skus[i.sku_code])
            for i in body.items
            if i.warehouse_code in warehouses and i.sku_code in skus
        ],
    )
    items = [
        await _apply_item(session, actor, body.batch_id, index, item, warehouses, skus)
        for index, item in _in_lock_order(body, warehouses, skus)
    ]
    items.sort(key=lambda i: i.index)
    applied = sum(1 for i in items if i.outcome == "applied")
    result = StockFeedResult(
        batch_id=body.batch_id,
        replayed=False,
        applied=applied,
        rejected=len(items) - applied,
        items=items,
    )
    batch.result = msgspec.to_builtins(result)
    record(
        session,
        actor,
        "stock.feed_applied",
        "stock_feed",
        body.batch_id,
        {"applied": applied, "rejected": len(items) - applied},
    )
    return result


async def _apply_item(
    session: AsyncSession,
    actor: Principal,
    batch_id: str,
    index: int,
    item: FeedItem,
    warehouses: dict[str, uuid.UUID],
    skus: dict[str, uuid.UUID],
) -> FeedItemResult:
    """Set or adjust one item's on-hand count, or say why it cannot apply."""
    outcome = FeedItemResult(
        index=index, warehouse_code=item.warehouse_code, sku_code=item.sku_code, outcome="rejected"
    )
    warehouse_id, sku_id = warehouses.get(item.warehouse_code), skus.get(item.sku_code)
    if warehouse_id is None or sku_id is None:
        unknown = "warehouse_unknown" if warehouse_id is None else "sku_unknown"
        return msgspec.structs.replace(outcome, reason=unknown)
    level = await read_level(session, warehouse_id, sku_id, lock=True)
    assert level is not None
    delta, refusal = _feed_delta(item, level.on_hand, level.reserved)
    if (
        refusal is None
        and delta
        and not await move(
            session,
            warehouse_id,
            sku_id,
            MovementKind.ADJUSTMENT,
            on_hand=delta,
            reference=batch_id,
            reason=f"erp:{batch_id}",
            actor_id=actor.user_id,
        )
    ):
        refusal = "stock_too_large"
    if refusal is not None:
        return msgspec.structs.replace(
            outcome, reason=refusal, on_hand=level.on_hand, reserved=level.reserved
        )
    after = await read_level(session, warehouse_id, sku_id)
    assert after is not None
    return msgspec.structs.replace(
        outcome, outcome="applied", on_hand=after.on_hand, reserved=after.reserved
    )


def _feed_delta(item: FeedItem, on_hand: int, reserved: int) -> tuple[int, str | None]:
    """The change to on-hand stock an item asks for, and why it is refused (None: it applies)."""
    if item.mode == "set":
        if item.quantity < 0:
            return 0, "quantity_invalid"
        if item.quantity < reserved:
            return 0, "stock_below_reserved"
        return item.quantity - on_hand, None
    new = on_hand + item.quantity
    if item.quantity == 0:
        return 0, "quantity_invalid"
    if new < reserved:
        return 0, "stock_below_reserved"
    if new > MAX_ON_HAND:
        return 0, "stock_too_large"
    return item.quantity, None
