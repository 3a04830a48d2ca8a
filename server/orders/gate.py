"""The placement's gate: the first statement of every order, and what it decides.

One statement reads whether the client's order id is taken, the dealer's standing, regions,
tier (with its rebate terms), review threshold, the catalog revision and HQ's approval chain
for orders. On PostgreSQL it first claims the order id
(``claim_order_id``): twins of one id queue on its advisory lock, and the one that waited
sees the order the other committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Integer, Uuid, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.approvals import ApprovalDocument, Step, decode_steps, steps_scalar
from server.catalog import revision_scalar
from server.db import fast
from server.db.dialect import is_postgresql
from server.dealers import DealerStatus, RebateTerms, rebate_terms_of, standing_select
from server.errors import Forbidden, NotFound
from server.orders.models import Order, OrderSettings
from server.orders.settings import DEFAULT_APPROVAL_THRESHOLD
from server.regions.service import ancestry


class Gate(msgspec.Struct, frozen=True, kw_only=True):
    """What placement needs to know first, read in one statement."""

    order_exists: bool
    """The client's order id is taken already (a retry, or another dealer's id)."""
    status: DealerStatus
    tier_code: str | None
    requires_prepayment: bool
    region_codes: tuple[str, ...]
    rebate: RebateTerms
    """The tier's rebate cap and exclusions, the dealer's default choice."""
    approval_threshold: int
    revision: int
    """The catalog revision, read with the rest: pricing needs no statement of its own."""
    approval_steps: tuple[Step, ...] = ()
    """HQ's approval chain for orders (none: HQ reviews only orders with a reason)."""

    @property
    def tier_known(self) -> bool:
        return self.tier_code is not None


ORDER_ID_LOCKS = 0x4F52  # advisory lock namespace of client order ids ("OR")


def _gate_statement(*, postgresql: bool) -> Any:
    """The gate's one statement. On PostgreSQL it first claims the order id
    (``claim_order_id``, migration 0009): twins of one id queue on its advisory lock, and the
    one that waited sees the order the other committed. SQLite writers queue on their own.
    """
    threshold = (
        select(OrderSettings.approval_threshold).where(OrderSettings.id == 1).scalar_subquery()
    )
    revision = revision_scalar()
    taken: Any = select(Order.id).where(Order.id == bindparam("order")).exists()
    first: tuple[Any, ...] = ()
    if postgresql:
        key = bindparam("key", type_=Integer)
        taken = func.claim_order_id(ORDER_ID_LOCKS, key, bindparam("order", type_=Uuid))
        first = (fast.GENERIC_PLANS,)
    steps = steps_scalar(ApprovalDocument.ORDER)
    return standing_select(first, (threshold, revision, steps, taken))


# Built once: they run on every order.
_GATE = _gate_statement(postgresql=False)
_GATE_PG = _gate_statement(postgresql=True)


async def read_gate(session: AsyncSession, dealer_id: uuid.UUID, order_id: uuid.UUID) -> Gate:
    """Whether the order id is taken, the dealer's standing, regions, threshold, revision."""
    if is_postgresql(session):
        params = {"dealer": dealer_id, "order": order_id, "key": fast.lock_key(order_id)}
        found = [row[1:] for row in await fast.rows(session, _GATE_PG, params)]
    else:
        found = await fast.rows(session, _GATE, {"dealer": dealer_id, "order": order_id})
    if not found:
        raise NotFound("dealer_not_found")
    (
        status,
        tier_code,
        requires_prepayment,
        region_csv,
        *rebate,
        threshold,
        revision,
        steps,
        taken,
    ) = found[0]
    return Gate(
        order_exists=bool(taken),
        status=DealerStatus(status),
        tier_code=tier_code,
        requires_prepayment=bool(requires_prepayment),
        region_codes=tuple(sorted(region_csv.split(","))) if region_csv else (),
        rebate=rebate_terms_of(rebate),
        approval_threshold=DEFAULT_APPROVAL_THRESHOLD if threshold is None else threshold,
        revision=int(revision or 0),
        approval_steps=tuple(decode_steps(steps)),
    )


def check_dealer(gate: Gate) -> None:
    """The dealer may order: active, with a known tier."""
    if gate.status is not DealerStatus.ACTIVE:
        raise Forbidden(
            f"dealer_{gate.status}",
            "经销商已暂停或关闭，不能下单",
            f"The dealer is {gate.status}: ordering is refused",
        )
    if not gate.tier_known:
        raise NotFound("tier_not_found")


async def is_diversion(
    session: AsyncSession, region_codes: Sequence[str], region_code: str
) -> bool:
    """A ship-to region not within any of the dealer's authorized regions is 窜货."""
    return not set(await ancestry(session, region_code)) & set(region_codes)
