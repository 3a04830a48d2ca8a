"""Property tests: random fund operation sequences keep the double-entry ledger sound."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.accounts import (
    capture_hold,
    get_hold,
    hold_funds,
    ledger_faults,
    rebuild_balances,
    release_hold,
)
from server.accounts.funds import dealer_balances, set_credit_limit, top_up
from server.accounts.models import FundsHold, LedgerAccount
from server.accounts.schemas import TopUpIn
from server.db.engine import Database
from server.db.session import transaction
from server.errors import Conflict
from server.identity.models import Role
from server.identity.principal import Principal
from tests.factories import make_dealer

PROPERTY_SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
fund_ops = st.lists(
    st.one_of(
        st.tuples(st.just("top_up"), st.sampled_from(["prepaid", "rebate"]), st.integers(1, 5_000)),
        st.tuples(
            st.just("hold"),
            st.sampled_from(["prepaid", "rebate,prepaid", "credit,prepaid"]),
            st.integers(1, 8_000),
        ),
        # Rebate spending as orders do it: an absolute cap (fen) first, exact or as available.
        st.tuples(
            st.just("spend_rebate"),
            st.sampled_from(["rebate,prepaid,credit", "rebate,prepaid", "exact"]),
            st.integers(1, 8_000),
        ),
        st.tuples(st.just("capture"), st.integers(0, 9), st.integers(0, 8_000)),
        st.tuples(st.just("release"), st.integers(0, 9), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)
HQ = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)


@PROPERTY_SETTINGS
@given(ops=fund_ops)
async def test_random_fund_operations_keep_the_ledger_balanced(
    db: Database, ops: list[tuple[str, str | int, int]]
) -> None:
    dealer = await make_dealer(db)
    async with transaction(db) as s:
        await set_credit_limit(s, HQ, dealer.id, 3_000, "授信")
    references: list[str] = []
    for op, arg, amount in ops:
        async with transaction(db) as s:
            if op == "top_up":
                await top_up(
                    s,
                    HQ,
                    dealer.id,
                    TopUpIn(
                        account=str(arg),  # type: ignore[arg-type]
                        amount=amount,
                        reason="r",
                        idempotency_key=f"k-{uuid.uuid4()}",
                    ),
                )
            elif op == "hold":
                reference = f"H-{uuid.uuid4()}"
                try:
                    await hold_funds(
                        s, dealer.id, reference, amount, str(arg).split(","), rebate_cap_bp=3000
                    )
                    references.append(reference)
                except Conflict as exc:
                    assert exc.code == "funds_insufficient"
            elif op == "spend_rebate":
                reference = f"R-{uuid.uuid4()}"
                cap = amount * (1 + amount % 3) // 3  # a third, two thirds or all of it
                exact = arg == "exact"
                try:
                    hold = await hold_funds(
                        s,
                        dealer.id,
                        reference,
                        amount,
                        ["rebate", "prepaid"] if exact else str(arg).split(","),
                        rebate_cap=cap,
                        rebate_exact=exact,
                    )
                    assert hold.rebate <= cap and (not exact or hold.rebate == cap)
                    references.append(reference)
                except Conflict as exc:
                    assert exc.code in ("funds_insufficient", "rebate_insufficient")
            elif references and op in ("capture", "release"):
                reference = references[int(arg) % len(references)]
                try:
                    if op == "release":
                        await release_hold(s, reference)
                    else:
                        still_held = (await get_hold(s, reference)).open_amount
                        final = amount % 2 == 0
                        await capture_hold(
                            s, reference, min(amount, still_held) or None, final=final
                        )
                except Conflict as exc:
                    assert exc.code in ("hold_captured", "hold_released", "hold_closed")
        async with db.session(write=False) as s:
            balances = await dealer_balances(s, dealer.id)
            assert balances.prepaid >= 0 and balances.rebate >= 0 and balances.held >= 0
            assert balances.credit_available >= 0
            assert balances.available == balances.prepaid + balances.credit_available
            # Every account's balance is the sum of its ledger postings.
            summed = await rebuild_balances(s, dealer.id)
            accounts = (
                await s.scalars(select(LedgerAccount).where(LedgerAccount.dealer_id == dealer.id))
            ).all()
            assert accounts and all(a.balance == summed.get(a.id, 0) for a in accounts)
            assert await ledger_faults(s, dealer.id) == []
            # Every hold spent rebate in proportion to what it captured.
            for hold in (await s.scalars(select(FundsHold))).all():
                assert hold.captured_rebate == hold.rebate * hold.captured // hold.amount
