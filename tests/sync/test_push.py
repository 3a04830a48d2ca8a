"""Push: exactly one stored outcome per mutation, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sync import (
    MutationContext,
    MutationIn,
    MutationRegistry,
    PublicationRegistry,
    PushRequest,
    PushResult,
    SyncConflict,
    SyncForbidden,
    SyncPrincipal,
    SyncUnavailable,
    pending_pokes,
    pull,
    push,
)
from tests.sync.conftest import demo_order, demo_stock, make_registry, principal, set_stock

Sessions = async_sessionmaker[AsyncSession]


def order(mid: int, key: str, qty: int = 1, sku: str = "tea") -> MutationIn:
    return MutationIn(
        mid=mid,
        name="order.place",
        args={"order_id": key, "sku": sku, "qty": qty},
        business_key=key,
    )


async def do_push(
    sessions: Sessions,
    who: SyncPrincipal,
    client_id: str,
    mutations: list[MutationIn],
    registry: MutationRegistry | None = None,
) -> PushResult:
    async with sessions.begin() as session:
        return await push(
            session,
            who,
            PushRequest(client_id=client_id, mutations=mutations),
            registry or make_registry(),
        )


async def count_orders(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(
            (await session.execute(select(func.count()).select_from(demo_order))).scalar_one()
        )


async def stock(sessions: Sessions, sku: str = "tea") -> int:
    async with sessions() as session:
        return int(
            (
                await session.execute(select(demo_stock.c.qty).where(demo_stock.c.sku == sku))
            ).scalar_one()
        )


async def test_applied_and_repeated_mid_returns_stored_outcome(sessions: Sessions) -> None:
    await set_stock(sessions, "tea", 10)
    first = await do_push(sessions, principal(), "c1", [order(1, "o1", 3)])
    assert [(r.mid, r.status, r.replayed) for r in first.results] == [(1, "applied", False)]
    again = await do_push(sessions, principal(), "c1", [order(1, "o1", 3), order(2, "o2", 1)])
    assert [(r.mid, r.status, r.replayed) for r in again.results] == [
        (1, "applied", True),
        (2, "applied", False),
    ]
    assert again.results[0].detail == {"orderId": "o1"}
    assert await count_orders(sessions) == 2
    assert await stock(sessions) == 6


async def test_mid_gap_is_a_conflict_and_applies_nothing(sessions: Sessions) -> None:
    await set_stock(sessions, "tea", 10)
    await do_push(sessions, principal(), "c1", [order(1, "o1")])
    with pytest.raises(SyncConflict) as info:
        await do_push(sessions, principal(), "c1", [order(2, "o2"), order(4, "o4")])
    assert info.value.code == "mid_gap" and info.value.extra == {"expectedMid": 3}
    assert info.value.status_code == 409
    assert await count_orders(sessions) == 1


async def test_business_key_replayed_from_a_reinstalled_client(sessions: Sessions) -> None:
    await set_stock(sessions, "tea", 10)
    await do_push(sessions, principal(), "old-install", [order(1, "o1", 2)])
    result = await do_push(sessions, principal(), "new-install", [order(1, "o1", 2)])
    assert result.results[0].status == "applied" and result.results[0].replayed
    assert await count_orders(sessions) == 1
    assert await stock(sessions) == 8
    # The new client's mid sequence advanced: mid 2 is next, mid 1 is a stored replay.
    result = await do_push(sessions, principal(), "new-install", [order(1, "o1"), order(2, "o2")])
    assert [r.replayed for r in result.results] == [True, False]


async def test_rejected_mutation_rolls_back_its_writes_and_does_not_block(
    sessions: Sessions,
) -> None:
    await set_stock(sessions, "tea", 0)
    await set_stock(sessions, "milk", 5)
    async with sessions.begin() as session:
        result = await push(
            session,
            principal(),
            PushRequest(
                client_id="c1",
                mutations=[order(1, "o1", sku="tea"), order(2, "o2", 7, sku="milk")],
            ),
            make_registry(),
        )
        pokes = pending_pokes(session)
    assert [(r.status, r.reason) for r in result.results] == [
        ("rejected", "out_of_stock"),
        ("amended", "partial_stock"),
    ]
    assert result.results[1].detail == {"qty": 5}
    assert await count_orders(sessions) == 1  # the rejected order's insert was rolled back
    assert await stock(sessions, "milk") == 0
    assert set(pokes) == {"dealer:d1", "stock:main"}


async def test_unknown_names_and_bad_args_are_rejected_not_crashes(sessions: Sessions) -> None:
    result = await do_push(
        sessions,
        principal(),
        "c1",
        [
            MutationIn(mid=1, name="nope", args={}),
            MutationIn(mid=2, name="order.place", args={"order_id": 5}),
            MutationIn(mid=3, name="note.set", args={"note": "x"}),
        ],
    )
    assert [(r.status, r.reason) for r in result.results] == [
        ("rejected", "unknown_mutation"),
        ("rejected", "invalid_args"),
        ("rejected", "not_allowed"),
    ]


async def test_a_used_business_key_under_another_name_is_no_replay(sessions: Sessions) -> None:
    await set_stock(sessions, "tea", 10)
    await do_push(sessions, principal(), "c1", [order(1, "o1")])
    result = await do_push(
        sessions,
        principal(),
        "c2",
        [
            MutationIn(mid=1, name="order.plaice", args={}, business_key="o1"),
            MutationIn(mid=2, name="note.set", args={"note": "x"}, business_key="o1"),
        ],
    )
    assert [(r.status, r.reason, r.replayed) for r in result.results] == [
        ("rejected", "unknown_mutation", False),
        ("rejected", "business_key_conflict", False),
    ]
    # An unknown mutation claims no key: the real one with that key is applied afterwards.
    result = await do_push(
        sessions,
        principal(),
        "c3",
        [MutationIn(mid=1, name="nope", args={}, business_key="o2"), order(2, "o2")],
    )
    assert [(r.status, r.replayed) for r in result.results] == [
        ("rejected", False),
        ("applied", False),
    ]
    assert await count_orders(sessions) == 2


async def test_outcomes_are_published_to_the_dealer_scope(sessions: Sessions) -> None:
    await set_stock(sessions, "tea", 0)
    await do_push(sessions, principal(), "c1", [order(1, "o1")])
    async with sessions() as session:
        result = await pull(session, {"dealer:d1"}, {"dealer:d1": 0}, 10)
    outcomes = [c for c in result.changes if c.entity == "mutation_result"]
    assert [c.key for c in outcomes] == ["c1:1"]
    assert b'"status":"rejected"' in bytes(outcomes[0].data or b"")
    # The rejected handler's own publish (order) was rolled back with its savepoint.
    assert [c.entity for c in result.changes] == ["mutation_result"]


async def test_client_id_of_another_principal_is_forbidden(sessions: Sessions) -> None:
    await do_push(sessions, principal("d1"), "c1", [])
    with pytest.raises(SyncForbidden) as info:
        await do_push(sessions, principal("d2"), "c1", [order(1, "x")])
    assert info.value.code == "client_forbidden"


@pytest.mark.postgres
async def test_transient_database_failure_is_unavailable(postgres_engine: Any) -> None:
    sessions = async_sessionmaker(postgres_engine, expire_on_commit=False)
    registry = MutationRegistry()

    async def kill_own_connection(
        session: AsyncSession, who: SyncPrincipal, args: dict[str, Any], ctx: MutationContext
    ) -> Any:
        await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        raise AssertionError("unreachable")

    registry.register("kill", dict, kill_own_connection)
    with pytest.raises(SyncUnavailable) as info:
        await do_push(
            sessions, principal(), "c1", [MutationIn(mid=1, name="kill", args={})], registry
        )
    assert info.value.status_code == 503
    # Nothing was recorded: the client retries the same mid later.
    result = await do_push(sessions, principal(), "c1", [MutationIn(mid=1, name="nope")])
    assert result.results[0].reason == "unknown_mutation"


async def test_registries_refuse_duplicates_and_foreign_scopes(sessions: Sessions) -> None:
    registry = make_registry()
    with pytest.raises(ValueError, match="already registered"):
        registry.register("order.place", dict, place_order_again)
    assert registry.names() == ["note.set", "order.place"]
    publications = PublicationRegistry()
    prices = publications.register("price", ["price:"])
    assert publications.entities() == {"price": ("price:",)}
    async with sessions.begin() as session:
        assert await prices.publish(session, "price:east", "tea", "upsert", {"fen": 1}) == 1
        with pytest.raises(ValueError, match="not published to scope"):
            await prices.publish(session, "stock:main", "tea", "upsert", {})


async def place_order_again(
    session: AsyncSession, who: SyncPrincipal, args: dict[str, Any], ctx: MutationContext
) -> Any:
    raise AssertionError("never registered")
