"""Reservations: the stock API the order state machine calls (no HTTP, never commits).

    reserve_stock(session, reference, lines) -> Reservation     at submit
    release_reservation(session, reference) -> Reservation      at cancel
    ship_reserved(session, reference, lines=None) -> Reservation at shipment
    return_stock(session, reference, lines, reason, unsellable=) -> Reservation goods come back

Each is idempotent by ``reference`` where that makes sense and all-or-nothing: lines are
applied inside a savepoint in a fixed (warehouse, SKU) order, so a refused line undoes the
others and two orders never lock rows in opposite orders.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.batch import add_new
from server.db.errors import DuplicateKey, duplicate_keys_raised
from server.errors import Conflict, Invalid, NotFound
from server.inventory.models import (
    MovementKind,
    ReservationStatus,
    StockReservation,
    StockReservationLine,
)
from server.inventory.short_lines import labelled
from server.inventory.stock import Delta, Key, check_quantity, move_many, read_levels


class StockLine(msgspec.Struct, frozen=True, kw_only=True):
    """A quantity of one SKU in one warehouse."""

    warehouse_id: uuid.UUID
    sku_id: uuid.UUID
    quantity: int


class OrderLine(msgspec.Struct, frozen=True, kw_only=True):
    """A quantity of one SKU, warehouse not yet chosen."""

    sku_id: uuid.UUID
    quantity: int


class ReservedLine(msgspec.Struct, frozen=True, kw_only=True):
    warehouse_id: uuid.UUID
    sku_id: uuid.UUID
    quantity: int
    shipped: int
    released: int
    returned: int

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.shipped - self.released


class Reservation(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    reference: str
    status: ReservationStatus
    dealer_id: uuid.UUID | None
    lines: tuple[ReservedLine, ...]
    backordered: tuple[OrderLine, ...] = ()


class _Short(Exception):
    pass


def check_reference(reference: str) -> str:
    if not isinstance(reference, str) or not 0 < len(reference) <= 64:
        raise Invalid("reference_invalid", "业务单号不合法", "A reference is 1 to 64 characters")
    return reference


def merge_lines(lines: Sequence[StockLine]) -> dict[Key, int]:
    """Sum repeated (warehouse, SKU) lines; sorted so rows are always touched in one order."""
    if not lines:
        raise Invalid("lines_empty", "至少需要一行", "At least one line is required")
    merged: dict[Key, int] = {}
    for line in lines:
        check_quantity(line.quantity)
        key = (line.warehouse_id, line.sku_id)
        merged[key] = check_quantity(merged.get(key, 0) + line.quantity)
    return dict(sorted(merged.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))))


async def _load(
    session: AsyncSession, reference: str, *, lock: bool = False
) -> StockReservation | None:
    stmt = select(StockReservation).where(StockReservation.reference == reference)
    if lock:
        stmt = stmt.with_for_update()
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def _lines(session: AsyncSession, reservation_id: uuid.UUID) -> list[StockReservationLine]:
    stmt = (
        select(StockReservationLine)
        .where(StockReservationLine.reservation_id == reservation_id)
        .order_by(StockReservationLine.warehouse_id, StockReservationLine.sku_id)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())


def _view(reservation: StockReservation, lines: list[StockReservationLine]) -> Reservation:
    return Reservation(
        id=reservation.id,
        reference=reservation.reference,
        status=reservation.status,
        dealer_id=reservation.dealer_id,
        lines=tuple(
            ReservedLine(
                warehouse_id=line.warehouse_id,
                sku_id=line.sku_id,
                quantity=line.quantity,
                shipped=line.shipped,
                released=line.released,
                returned=line.returned,
            )
            for line in lines
        ),
        backordered=tuple(msgspec.convert(b, OrderLine) for b in reservation.backordered or []),
    )


async def get_reservation(session: AsyncSession, reference: str) -> Reservation:
    """The reservation of an order, or 404 ``reservation_not_found``."""
    reservation = await _load(session, reference)
    if reservation is None:
        raise NotFound(
            "reservation_not_found", "预占记录不存在", "No reservation for this reference"
        )
    return _view(reservation, await _lines(session, reservation.id))


def _settle_status(reservation: StockReservation, lines: list[StockReservationLine]) -> None:
    if any(line.quantity - line.shipped - line.released > 0 for line in lines):
        reservation.status = ReservationStatus.OPEN
    elif any(line.shipped for line in lines):
        reservation.status = ReservationStatus.SHIPPED
    else:
        reservation.status = ReservationStatus.RELEASED


async def _existing_answer(
    session: AsyncSession, reference: str, merged: dict[Key, int]
) -> Reservation | None:
    """The reservation already made for this reference with these lines (409 if other lines)."""
    existing = await _load(session, reference)
    if existing is None:
        return None
    current = await _lines(session, existing.id)
    if {(x.warehouse_id, x.sku_id): x.quantity for x in current} != merged:
        raise Conflict(
            "reservation_exists",
            "该单号已有不同的预占",
            "This reference already reserved other lines",
        )
    return _view(existing, current)


async def reserve_stock(
    session: AsyncSession,
    reference: str,
    lines: Sequence[StockLine],
    *,
    dealer_id: uuid.UUID | None = None,
    backordered: Sequence[OrderLine] = (),
) -> Reservation:
    """Reserve every line or none (409 ``stock_insufficient`` naming the short lines).

    Idempotent: the same reference with the same lines answers the existing reservation;
    with other lines it is 409 ``reservation_exists``.
    """
    check_reference(reference)
    merged = merge_lines(lines)
    answer = await _existing_answer(session, reference, merged)
    if answer is not None:
        return answer
    short: list[Key] = []
    try:
        with duplicate_keys_raised():
            async with session.begin_nested():
                reservation = StockReservation(
                    id=uuid.uuid4(),
                    reference=reference,
                    dealer_id=dealer_id,
                    backordered=[msgspec.to_builtins(b) for b in backordered],
                )
                session.add(reservation)
                # The unique reference is claimed first: a concurrent twin waits here, then fails.
                await session.flush()
                short = await _reserve_rows(session, reference, merged)
                if short:
                    raise _Short
                rows = _reservation_rows(session, reservation, merged)
    except _Short:
        raise await _short_conflict(session, merged, short) from None
    except DuplicateKey as exc:
        # A twin committed this reference while we waited on its key: answer as a replay.
        answer = await _existing_answer(session, reference, merged)
        if answer is not None:
            return answer
        raise Conflict(
            "reservation_in_progress",
            "该单号正在预占，请稍后重试",
            "This reference is being reserved concurrently",
        ) from exc
    return _view(reservation, rows)


async def reserve_new(
    session: AsyncSession,
    reference: str,
    lines: Sequence[StockLine],
    *,
    dealer_id: uuid.UUID | None = None,
    backordered: Sequence[OrderLine] = (),
) -> Reservation:
    """Reserve for a reference the caller knows is new (an order id it is creating).

    No replay lookup and no savepoint: a short line moves nothing (409 ``stock_insufficient``),
    and a twin using the same reference fails on the unique reference when the caller's
    transaction flushes, which the caller turns into its own replay answer.
    """
    check_reference(reference)
    merged = merge_lines(lines)
    short = await _reserve_rows(session, reference, merged)
    if short:
        raise await _short_conflict(session, merged, short)
    reservation = StockReservation(
        id=uuid.uuid4(),
        reference=reference,
        dealer_id=dealer_id,
        backordered=[msgspec.to_builtins(b) for b in backordered],
    )
    add_new(session, reservation)
    return _view(reservation, _reservation_rows(session, reservation, merged))


async def _reserve_rows(session: AsyncSession, reference: str, merged: dict[Key, int]) -> list[Key]:
    return await move_many(
        session,
        MovementKind.RESERVATION,
        [Delta(w, s, reserved=q) for (w, s), q in merged.items()],
        reference=reference,
    )


def _reservation_rows(
    session: AsyncSession, reservation: StockReservation, merged: dict[Key, int]
) -> list[StockReservationLine]:
    rows = [
        StockReservationLine(
            reservation_id=reservation.id,
            warehouse_id=w,
            sku_id=s,
            quantity=q,
            shipped=0,
            released=0,
            returned=0,
        )
        for (w, s), q in merged.items()
    ]
    for row in rows:
        add_new(session, row)
    return rows


async def _short_conflict(
    session: AsyncSession, merged: dict[Key, int], short: list[Key]
) -> Conflict:
    levels = await read_levels(session, short)
    return Conflict(
        "stock_insufficient",
        "库存不足",
        "Not enough stock for some lines",
        shortLines=await labelled(
            session,
            [
                {
                    "warehouseId": str(w),
                    "skuId": str(s),
                    "requested": merged[(w, s)],
                    "available": levels[(w, s)].available if (w, s) in levels else 0,
                }
                for w, s in short
            ],
        ),
    )


async def release_reservation(session: AsyncSession, reference: str) -> Reservation:
    """Give back whatever is still reserved (cancel); releasing twice changes nothing."""
    reservation = await _load(session, reference, lock=True)
    if reservation is None:
        raise NotFound(
            "reservation_not_found", "预占记录不存在", "No reservation for this reference"
        )
    lines = await _lines(session, reservation.id)
    opened = [(line, line.quantity - line.shipped - line.released) for line in lines]
    short = await move_many(
        session,
        MovementKind.RELEASE,
        [Delta(ln.warehouse_id, ln.sku_id, reserved=-q) for ln, q in opened if q > 0],
        reference=reference,
    )
    assert not short, "a reservation's open quantity is always reserved"
    for line, open_quantity in opened:
        if open_quantity > 0:
            line.released += open_quantity
    _settle_status(reservation, lines)
    await session.flush()
    return _view(reservation, lines)


async def ship_reserved(
    session: AsyncSession, reference: str, lines: Sequence[StockLine] | None = None
) -> Reservation:
    """Ship reserved goods (all still open, or the given quantities): on hand and reserved fall."""
    reservation = await _load(session, reference, lock=True)
    if reservation is None:
        raise NotFound(
            "reservation_not_found", "预占记录不存在", "No reservation for this reference"
        )
    rows = await _lines(session, reservation.id)
    by_key = {(r.warehouse_id, r.sku_id): r for r in rows}
    wanted = (
        {k: r.quantity - r.shipped - r.released for k, r in by_key.items()}
        if lines is None
        else merge_lines(lines)
    )
    for key, quantity in wanted.items():
        row = by_key.get(key)
        if row is None or quantity > row.quantity - row.shipped - row.released:
            raise Invalid(
                "ship_exceeds_reservation",
                "发货数量超过预占数量",
                "Shipping more than is reserved for this reference",
                errors=[
                    {
                        "key": "lines",
                        "message": f"仓库 {key[0]} 商品 {key[1]}",
                        "message_en": f"warehouse {key[0]} sku {key[1]}",
                    }
                ],
            )
    short = await move_many(
        session,
        MovementKind.SHIPMENT,
        [Delta(k[0], k[1], on_hand=-q, reserved=-q) for k, q in wanted.items() if q > 0],
        reference=reference,
    )
    assert not short, "reserved goods are always on hand"
    for key, quantity in wanted.items():
        if quantity > 0:
            by_key[key].shipped += quantity
    _settle_status(reservation, rows)
    await session.flush()
    return _view(reservation, rows)


async def return_stock(
    session: AsyncSession,
    reference: str,
    lines: Sequence[StockLine],
    *,
    reason: str = "",
    unsellable: MovementKind | None = None,
) -> Reservation:
    """Shipped goods came back to the warehouse: on hand grows (at most what was shipped).

    ``unsellable`` (``quarantine`` or ``scrap``): the goods are received and then leave
    sellable stock at once, a second movement of that kind, so the ledger shows both."""
    reservation = await _load(session, reference, lock=True)
    if reservation is None:
        raise NotFound(
            "reservation_not_found", "预占记录不存在", "No reservation for this reference"
        )
    rows = await _lines(session, reservation.id)
    by_key = {(r.warehouse_id, r.sku_id): r for r in rows}
    wanted = merge_lines(lines)
    for key, quantity in wanted.items():
        row = by_key.get(key)
        if row is None or quantity > row.shipped - row.returned:
            raise Invalid(
                "return_exceeds_shipment",
                "退货数量超过已发货数量",
                "Returning more than was shipped for this reference",
                errors=[
                    {
                        "key": "lines",
                        "message": f"仓库 {key[0]} 商品 {key[1]}",
                        "message_en": f"warehouse {key[0]} sku {key[1]}",
                    }
                ],
            )
    if await move_many(
        session,
        MovementKind.RETURN,
        [Delta(k[0], k[1], on_hand=q) for k, q in wanted.items()],
        reference=reference,
        reason=reason,
    ):
        raise Conflict("stock_too_large", "库存数量超出上限", "On hand would exceed the maximum")
    if unsellable is not None:
        kept_out = [Delta(k[0], k[1], on_hand=-q) for k, q in wanted.items()]
        short = await move_many(session, unsellable, kept_out, reference=reference, reason=reason)
        assert not short, "goods just received are on hand"
    for key, quantity in wanted.items():
        by_key[key].returned += quantity
    await session.flush()
    return _view(reservation, rows)
