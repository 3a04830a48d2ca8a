"""Fund holds: sources in order, rebate cap, idempotency, capture, release; ledger balances."""

from __future__ import annotations

import uuid

import pytest

from server.accounts import capture_hold, get_hold, hold_funds, ledger_faults, release_hold
from server.accounts.funds import dealer_balances, set_credit_limit, top_up
from server.accounts.models import HoldStatus
from server.accounts.publication import pending_balance_changes
from server.accounts.schemas import TopUpIn
from server.db.engine import Database
from server.db.scoping import scope_to_dealer
from server.db.session import transaction
from server.dealers.models import DealerTier
from server.errors import Conflict, Invalid, NotFound
from server.identity.models import Role
from server.identity.principal import Principal
from tests.factories import make_dealer

HQ = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)


async def fund(
    db: Database, dealer_id: uuid.UUID, prepaid: int = 0, rebate: int = 0, credit_limit: int = 0
) -> None:
    async with transaction(db) as s:
        if prepaid:
            await top_up(
                s,
                HQ,
                dealer_id,
                TopUpIn(
                    account="prepaid",
                    amount=prepaid,
                    reason="汇款",
                    idempotency_key=f"k-{uuid.uuid4()}",
                ),
            )
        if rebate:
            await top_up(
                s,
                HQ,
                dealer_id,
                TopUpIn(
                    account="rebate",
                    amount=rebate,
                    reason="返利",
                    idempotency_key=f"k-{uuid.uuid4()}",
                ),
            )
        if credit_limit:
            await set_credit_limit(s, HQ, dealer_id, credit_limit, "授信")


async def test_hold_uses_sources_in_order_with_rebate_cap(db: Database) -> None:
    dealer = await make_dealer(db)
    await fund(db, dealer.id, prepaid=50_000, rebate=30_000, credit_limit=100_000)
    async with transaction(db) as s:
        hold = await hold_funds(
            s, dealer.id, "SO-1", 100_000, ["rebate", "prepaid", "credit"], rebate_cap_bp=1000
        )
        assert (hold.rebate, hold.prepaid, hold.credit) == (10_000, 50_000, 40_000)
        assert pending_balance_changes(s) == {dealer.id}
        balances = await dealer_balances(s, dealer.id)
        assert (balances.prepaid, balances.rebate, balances.credit_available, balances.held) == (
            0,
            20_000,
            60_000,
            100_000,
        )
        assert (
            await hold_funds(s, dealer.id, "SO-1", 100_000, ["prepaid"])
        ).id == hold.id  # idempotent
        with pytest.raises(Conflict) as other:
            await hold_funds(s, dealer.id, "SO-1", 99_999, ["prepaid"])
        assert other.value.code == "hold_reference_conflict"
    async with transaction(db) as s:
        captured = await capture_hold(s, "SO-1", 50_000)
        assert (captured.status, captured.captured) == (HoldStatus.CAPTURED, 50_000)
        balances = await dealer_balances(s, dealer.id)
        # 5,000 rebate (10% of 50,000) then 45,000 prepaid captured; the rest went back.
        assert (balances.rebate, balances.prepaid, balances.credit_available, balances.held) == (
            25_000,
            5_000,
            100_000,
            0,
        )
        assert (await capture_hold(s, "SO-1")).captured == 50_000  # idempotent
        with pytest.raises(Conflict):
            await release_hold(s, "SO-1")
        assert await ledger_faults(s) == []
    async with transaction(db) as s:
        assert (await dealer_balances(s, dealer.id)).credit_used == 0  # the capture used no credit
        await hold_funds(s, dealer.id, "SO-1b", 30_000, ["credit"])
        await capture_hold(s, "SO-1b")
        repay = TopUpIn(
            account="credit", amount=30_001, reason="还款", idempotency_key="repay-0001"
        )
        with pytest.raises(Conflict) as overpaid:
            await top_up(s, HQ, dealer.id, repay)
        assert (overpaid.value.code, overpaid.value.extra) == ("credit_overpaid", {"owed": 30_000})
        await top_up(
            s,
            HQ,
            dealer.id,
            TopUpIn(account="credit", amount=30_000, reason="还款", idempotency_key="repay-0002"),
        )
        assert (await dealer_balances(s, dealer.id)).credit_available == 100_000


async def test_holds_beyond_funds_are_refused_and_release_gives_back(db: Database) -> None:
    dealer = await make_dealer(db)
    await fund(db, dealer.id, prepaid=1_000)
    async with transaction(db) as s:
        with pytest.raises(Conflict) as exc:
            await hold_funds(s, dealer.id, "SO-2", 1_001, ["prepaid", "credit"])
        assert exc.value.code == "funds_insufficient"
        assert exc.value.extra == {"amount": 1_001, "available": 1_000, "shortBy": 1}
        await hold_funds(s, dealer.id, "SO-2", 1_000, ["prepaid"])
        released = await release_hold(s, "SO-2")
        assert released.status is HoldStatus.RELEASED
        assert (await release_hold(s, "SO-2")).status is HoldStatus.RELEASED
        assert (await dealer_balances(s, dealer.id)).prepaid == 1_000
        with pytest.raises(Conflict):
            await capture_hold(s, "SO-2")
        assert await ledger_faults(s) == []


async def test_prepayment_tier_cannot_use_credit_and_bad_input_is_refused(db: Database) -> None:
    dealer = await make_dealer(db, tier="watch")
    async with transaction(db) as s:
        tier = await s.get(DealerTier, "watch")
        assert tier is not None
        tier.requires_prepayment = True
    await fund(db, dealer.id, prepaid=100, credit_limit=10_000)
    async with transaction(db) as s:
        with pytest.raises(Invalid) as exc:
            await hold_funds(s, dealer.id, "SO-3", 500, ["prepaid", "credit"])
        assert exc.value.code == "credit_not_allowed"
        for amount in (0, -5, 10**15, True):
            with pytest.raises(Invalid):
                await hold_funds(s, dealer.id, "SO-3", amount, ["prepaid"])
        with pytest.raises(Invalid):
            await hold_funds(s, dealer.id, "SO-3", 5, ["cash"])
        with pytest.raises(Invalid):
            await hold_funds(s, dealer.id, "SO-3", 5, ["prepaid", "prepaid"])


async def test_a_dealer_session_cannot_see_or_take_another_dealers_hold(db: Database) -> None:
    ours, theirs = await make_dealer(db), await make_dealer(db)
    await fund(db, ours.id, prepaid=1_000)
    await fund(db, theirs.id, prepaid=1_000)
    async with transaction(db) as s:
        await hold_funds(s, theirs.id, "SO-THEIRS", 500, ["prepaid"])
    async with transaction(db) as s:
        scope_to_dealer(s, ours.id)  # what a dealer token's request session does
        with pytest.raises(NotFound):
            await get_hold(s, "SO-THEIRS")
        with pytest.raises(Conflict) as exc:
            await hold_funds(s, ours.id, "SO-THEIRS", 500, ["prepaid"])
        assert exc.value.code == "hold_reference_conflict"
        assert (await dealer_balances(s, ours.id)).prepaid == 1_000
    async with db.session(write=False) as s:
        assert (await get_hold(s, "SO-THEIRS")).dealer_id == theirs.id
        assert await ledger_faults(s) == []


async def test_partial_captures_keep_the_rebate_share_within_the_cap(db: Database) -> None:
    dealer = await make_dealer(db)
    await fund(db, dealer.id, prepaid=10_000, rebate=5_000)
    async with transaction(db) as s:
        hold = await hold_funds(
            s, dealer.id, "SO-5", 10_000, ["rebate", "prepaid"], rebate_cap_bp=2000
        )
        assert (hold.rebate, hold.prepaid) == (2_000, 8_000)
        first = await capture_hold(s, "SO-5", 3_000, final=False)
        assert (first.captured, first.status, first.open_amount) == (3_000, HoldStatus.HELD, 7_000)
        second = await capture_hold(s, "SO-5", 5_000, final=False)
        assert second.captured == 8_000
        with pytest.raises(Invalid):
            await capture_hold(s, "SO-5", 2_001, final=False)
        last = await capture_hold(s, "SO-5", 1_000)
        assert (last.captured, last.released, last.status) == (9_000, 1_000, HoldStatus.CAPTURED)
        balances = await dealer_balances(s, dealer.id)
        # 20% of 9,000 came from rebate; the unshipped 1,000 went back 200 rebate / 800 prepaid.
        assert (balances.rebate, balances.prepaid, balances.held) == (
            5_000 - 1_800,
            10_000 - 7_200,
            0,
        )
        with pytest.raises(Conflict) as closed:
            await capture_hold(s, "SO-5", 1)
        assert closed.value.code == "hold_closed"
        with pytest.raises(Conflict) as captured:
            await release_hold(s, "SO-5")
        assert captured.value.code == "hold_captured"
        assert await ledger_faults(s) == []
