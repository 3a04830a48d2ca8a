"""Promotion budgets consumed by orders: taken at placement, given back on cancel or reject.

``promotion_uses(priced)`` (or ``snapshot_promotion_uses`` for a quote's pinned snapshot)
reads what each applied promotion granted: fen of discount, 0 for a gift-only 买赠, which
still counts as one use. ``consume_order_budgets`` takes, for every applied promotion that
has a budget, one use and that amount under the key ``order:{order id}:{code}``, promotions
in code order so concurrent orders lock budget rows in one order. ``release_order_budgets``
gives back what an order took, exactly once however often it is called.

An exhausted budget raises 409 ``budget_exhausted`` naming the promotion and the limit
(``scope``: the promotion's or the dealer's). Placement (``server.orders.service``) takes
it as "this promotion has ended for this order": it prices the cart again without it and
asks the dealer to confirm (amendment ``promotion_ended``); only an order from a quote,
which must keep the quote's prices, is refused with it.

So that carts stop offering a promotion nobody can get any more, a consumption that spends
the promotion's overall budget (count reached, or amount reached) bumps the catalog revision
in the same transaction, and a release that reopens it bumps it again; the live steps built
for a revision leave spent promotions out (``live_promotion_steps``). The bump comes after
every budget row of the order is locked, so no transaction waits for a budget row while
holding the revision row.
Per-dealer caps are not part of the cached steps (they are built once for every dealer): a
dealer past its own cap still sees the promotion in the cart, and the order-time re-pricing
above takes it out.

Which promotions have a budget is learned from the live sets the pricing loader builds
(``BudgetDirectory``, held by the pricing cache): published promotions never change (only
drafts are edited) and codes are unique, so what is learned stays true, and an order whose
promotions have no budget issues no statement here at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog import bump_revision
from server.pricing import PricedCart, Step
from server.promotions.budgets import give_back_budget, take_budget
from server.promotions.models import BudgetConsumption, ConsumptionStatus, Promotion
from server.promotions.models import PromotionStatus as Status
from server.promotions.service import PromotionSteps, has_budget

_PROMOTION_STEPS = frozenset({Step.LINE_PROMOTION, Step.ORDER_PROMOTION, Step.GIFT})


class BudgetDirectory:
    """Whether a priced rule code is a promotion with a budget, as far as this process knows."""

    def __init__(self) -> None:
        self._budgeted: dict[str, bool] = {}

    def learn(self, steps: PromotionSteps) -> None:
        """Remember every code of a freshly built live set."""
        for code in steps.codes:
            self._budgeted[code] = code in steps.budgeted

    def to_check(self, codes: Iterable[str]) -> list[str]:
        """The codes that have a budget or are not known yet, sorted."""
        return sorted(code for code in codes if self._budgeted.get(code, True))

    def note(self, code: str, promotion: Promotion | None) -> None:
        """Remember what the database said (nothing: a bundle or another non-promotion)."""
        if promotion is None:
            self._budgeted.setdefault(code, False)
        elif promotion.status is not Status.DRAFT:
            self._budgeted[code] = has_budget(promotion)


def _add_use(uses: dict[str, int], rule: str | None, line: int | None, saved: int) -> None:
    if rule is not None:
        uses[rule] = uses.get(rule, 0) + (saved if line is not None else 0)


def promotion_uses(priced: PricedCart) -> dict[str, int]:
    """Fen granted per applied rule code (line discounts and order discounts spread on lines)."""
    uses: dict[str, int] = {}
    for row in priced.explanation:
        if row.applied and row.step in _PROMOTION_STEPS:
            _add_use(uses, row.rule_id, row.line, row.input_amount - row.output_amount)
    return uses


class _SnapshotRow(msgspec.Struct, rename="camel"):
    step: str
    rule_id: str | None = None
    line: int | None = None
    input_amount: int = 0
    output_amount: int = 0
    applied: bool = True


class _Snapshot(msgspec.Struct, rename="camel"):
    explanation: list[_SnapshotRow] = []


def snapshot_promotion_uses(snapshot: Mapping[str, Any]) -> dict[str, int]:
    """``promotion_uses`` of a priced cart pinned as JSON (a quote's snapshot)."""
    uses: dict[str, int] = {}
    for row in msgspec.convert(snapshot, _Snapshot).explanation:
        if row.applied and row.step in _PROMOTION_STEPS:
            _add_use(uses, row.rule_id, row.line, row.input_amount - row.output_amount)
    return uses


def order_budget_key(order_id: uuid.UUID, code: str) -> str:
    return f"order:{order_id}:{code}"


async def consume_order_budgets(
    session: AsyncSession,
    directory: BudgetDirectory,
    dealer_id: uuid.UUID,
    order_id: uuid.UUID,
    uses: Mapping[str, int],
) -> None:
    """Take each budgeted promotion's use and amount for the order; raises ``BudgetExhausted``."""
    codes = directory.to_check(uses)
    if not codes:
        return
    rows = (await session.execute(select(Promotion).where(Promotion.code.in_(codes)))).scalars()
    found = {p.code: p for p in rows}
    spent = False
    for code in codes:
        p = found.get(code)
        directory.note(code, p)
        if p is not None and has_budget(p):
            key = order_budget_key(order_id, code)
            taken = await take_budget(session, p, dealer_id, amount=max(uses[code], 0), key=key)
            spent = spent or taken.spent
    if spent:  # carts priced from now on leave the promotion out
        await bump_revision(session)


async def release_order_budgets(
    session: AsyncSession, dealer_id: uuid.UUID, order_id: uuid.UUID
) -> int:
    """Give back every budget the order consumed (once); how many were released."""
    c = BudgetConsumption
    keys = (
        await session.execute(
            select(c.key).where(
                c.dealer_id == dealer_id,
                c.key.startswith(order_budget_key(order_id, ""), autoescape=True),
                c.status == ConsumptionStatus.CONSUMED,
            )
        )
    ).scalars()
    released = 0
    reopened = False
    for key in sorted(keys):
        given = await give_back_budget(session, key)
        released += given.released
        reopened = reopened or given.reopened
    if reopened:  # carts priced from now on offer the promotion again
        await bump_revision(session)
    return released
