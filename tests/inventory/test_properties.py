"""Property tests: random stock operation sequences keep the stock ledger sound."""

from __future__ import annotations

import uuid
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.db.engine import Database
from server.db.session import transaction
from server.errors import Conflict
from server.inventory import (
    StockLine,
    get_reservation,
    level_drift,
    receive_stock,
    release_reservation,
    reserve_stock,
    ship_reserved,
)
from server.inventory.models import (
    ReservationStatus,
    StockLevel,
    StockReservation,
    StockReservationLine,
)
from server.regions.models import Region
from tests.factories import make_regions, make_sku, make_warehouse

PROPERTY_SETTINGS = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
stock_ops = st.lists(
    st.one_of(
        st.tuples(st.just("receipt"), st.integers(0, 1), st.integers(1, 20)),
        st.tuples(st.just("reserve"), st.integers(0, 1), st.integers(1, 15)),
        st.tuples(st.just("release"), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("ship"), st.integers(0, 9), st.integers(0, 3)),
    ),
    min_size=1,
    max_size=25,
)


async def _check_stock(db: Database, warehouse_id: uuid.UUID) -> None:
    async with db.session(write=False) as s:
        levels = (
            (
                await s.execute(
                    select(StockLevel)
                    .where(StockLevel.warehouse_id == warehouse_id)
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        )
        open_lines = await s.execute(
            select(StockReservationLine)
            .join(StockReservation)
            .where(
                StockReservationLine.warehouse_id == warehouse_id,
                StockReservation.status == ReservationStatus.OPEN,
            )
        )
        open_by_sku: dict[uuid.UUID, int] = defaultdict(int)
        for line in open_lines.scalars():
            open_by_sku[line.sku_id] += line.open_quantity
        for level in levels:
            assert level.on_hand >= level.reserved >= 0
            assert level.reserved == open_by_sku[level.sku_id]
        assert await level_drift(s) == []


@PROPERTY_SETTINGS
@given(ops=stock_ops)
async def test_random_stock_operations_keep_invariants(
    db: Database, ops: list[tuple[str, int, int]]
) -> None:
    async with db.session(write=False) as s:
        missing = await s.get(Region, "330100") is None
    if missing:
        await make_regions(db)
    wh = await make_warehouse(db)
    skus = [await make_sku(db), await make_sku(db)]
    references: list[str] = []
    for op, index, quantity in ops:
        async with transaction(db) as s:
            if op == "receipt":
                await receive_stock(s, wh.id, skus[index].id, quantity)
            elif op == "reserve":
                reference = f"R-{uuid.uuid4()}"
                try:
                    await reserve_stock(
                        s,
                        reference,
                        [StockLine(warehouse_id=wh.id, sku_id=skus[index].id, quantity=quantity)],
                    )
                    references.append(reference)
                except Conflict as exc:
                    assert exc.code == "stock_insufficient"
            elif references and op == "release":
                await release_reservation(s, references[index % len(references)])
            elif references and op == "ship":
                reference = references[index % len(references)]
                reservation = await ship_reserved(s, reference, None) if quantity == 0 else None
                if reservation is None:
                    current = await get_reservation(s, reference)
                    line = current.lines[0]
                    take = min(quantity, line.open_quantity)
                    if take:
                        await ship_reserved(
                            s,
                            reference,
                            [
                                StockLine(
                                    warehouse_id=line.warehouse_id,
                                    sku_id=line.sku_id,
                                    quantity=take,
                                )
                            ],
                        )
        await _check_stock(db, wh.id)
