"""Change feed and pull on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sync import SyncConflict, SyncForbidden, pending_pokes, publish, pull, take_pokes
from sync.compaction import compact

Sessions = async_sessionmaker[AsyncSession]


async def put(sessions: Sessions, scope: str, key: str, value: object, op: str = "upsert") -> int:
    async with sessions.begin() as session:
        return await publish(
            session, scope, "item", key, "delete" if op == "delete" else "upsert", value
        )


async def pull_all(sessions: Sessions, scopes: set[str], cursor: dict[str, int], limit: int = 100):
    async with sessions() as session:
        return await pull(session, scopes, cursor, limit)


async def test_publish_assigns_consecutive_versions_per_scope(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        assert await publish(session, "price:east", "price", "a", "upsert", {"fen": 100}) == 1
        assert await publish(session, "price:east", "price", "b", "upsert", {"fen": 200}) == 2
        assert await publish(session, "price:west", "price", "a", "upsert", {"fen": 300}) == 1
        assert pending_pokes(session) == {"price:east": 2, "price:west": 1}
    assert await put(sessions, "price:east", "a", {"fen": 101}) == 3


async def test_rolled_back_publish_leaves_no_change_and_no_version(sessions: Sessions) -> None:
    async with sessions() as session:
        await publish(session, "s", "item", "k", "upsert", {})
        await session.rollback()
    assert await put(sessions, "s", "k", {"v": 1}) == 1


async def test_pokes_are_taken_once(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        await publish(session, "s", "item", "k", "upsert", {})
    assert take_pokes(session) == {"s": 1}
    assert take_pokes(session) == {}


async def test_incremental_pull_pages_in_version_order(sessions: Sessions) -> None:
    for i in range(5):
        await put(sessions, "s", f"k{i}", {"i": i})
    first = await pull_all(sessions, {"s"}, {"s": 0}, limit=2)
    assert [c.version for c in first.changes] == [1, 2]
    assert first.has_more and first.cursor == {"s": 2} and first.resets == []
    rest = await pull_all(sessions, {"s"}, first.cursor, limit=10)
    assert [c.version for c in rest.changes] == [3, 4, 5]
    assert not rest.has_more and rest.cursor == {"s": 5}
    assert bytes(rest.changes[0].data or b"") == b'{"i":2}'


async def test_new_scope_gets_a_snapshot_without_deleted_keys(sessions: Sessions) -> None:
    await put(sessions, "s", "a", {"v": 1})
    await put(sessions, "s", "b", {"v": 1})
    await put(sessions, "s", "a", {"v": 2})
    await put(sessions, "s", "b", None, op="delete")
    result = await pull_all(sessions, {"s"}, {})
    assert result.resets == ["s"]
    assert [(c.key, c.version) for c in result.changes] == [("a", 3)]
    assert result.cursor == {"s": 4}


async def test_paged_snapshot_continues_with_negative_cursor(sessions: Sessions) -> None:
    for key in "abcde":
        await put(sessions, "s", key, {"v": 1})
    page = await pull_all(sessions, {"s"}, {}, limit=2)
    assert page.resets == ["s"] and page.has_more and page.cursor == {"s": -2}
    # A write during the snapshot: key "a" (already sent) changes, key "e" is deleted.
    await put(sessions, "s", "a", {"v": 2})
    await put(sessions, "s", "e", None, op="delete")
    state = {c.key: c for c in page.changes}
    cursor = page.cursor
    while True:
        page = await pull_all(sessions, {"s"}, cursor, limit=2)
        assert page.resets == []
        for change in page.changes:
            if change.op == "delete":
                state.pop(change.key, None)
            else:
                state[change.key] = change
        cursor = page.cursor
        if not page.has_more:
            break
    assert sorted(state) == ["a", "b", "c", "d"]
    assert bytes(state["a"].data or b"") == b'{"v":2}'
    assert cursor == {"s": 7}


async def test_lost_scope_is_dropped_and_foreign_request_refused(sessions: Sessions) -> None:
    await put(sessions, "mine", "k", {})
    await put(sessions, "theirs", "k", {})
    result = await pull_all(sessions, {"mine"}, {"mine": 0, "theirs": 0})
    assert result.dropped == ["theirs"]
    assert {c.scope for c in result.changes} == {"mine"}
    async with sessions() as session:
        with pytest.raises(SyncForbidden) as info:
            await pull(session, {"mine"}, {}, 10, scopes={"mine", "theirs"})
    assert info.value.code == "scope_forbidden" and info.value.status_code == 403


async def test_cursor_from_the_future_is_a_conflict(sessions: Sessions) -> None:
    await put(sessions, "s", "k", {})
    async with sessions() as session:
        with pytest.raises(SyncConflict) as info:
            await pull(session, {"s"}, {"s": 5}, 10)
    assert info.value.code == "cursor_ahead"
    assert info.value.extra["serverVersion"] == 1


async def test_compaction_resets_only_the_compacted_scope(sessions: Sessions) -> None:
    for i in range(3):
        await put(sessions, "old", "k", {"i": i})
        await put(sessions, "fresh", f"k{i}", {"i": i})
    await put(sessions, "old", "gone", {})
    await put(sessions, "old", "gone", None, op="delete")
    async with sessions.begin() as session:
        floors = await compact(session, retention=None, scopes=["old"])
    assert floors == {"old": 5}
    result = await pull_all(sessions, {"old", "fresh"}, {"old": 1, "fresh": 1})
    assert result.resets == ["old"]
    assert [(c.scope, c.key) for c in result.changes if c.scope == "old"] == [("old", "k")]
    assert [c.version for c in result.changes if c.scope == "fresh"] == [2, 3]
    # A cursor at or above the floor is served incrementally, tombstone included.
    result = await pull_all(sessions, {"old"}, {"old": 5})
    assert result.resets == [] and result.changes == []


async def test_limit_is_shared_across_scopes(sessions: Sessions) -> None:
    for i in range(3):
        await put(sessions, "a", f"k{i}", {})
        await put(sessions, "b", f"k{i}", {})
    result = await pull_all(sessions, {"a", "b"}, {"a": 0, "b": 0}, limit=4)
    assert len(result.changes) == 4 and result.has_more
    assert result.cursor == {"a": 3, "b": 1}


async def test_compaction_only_touches_history_older_than_the_retention(sessions: Sessions) -> None:
    await put(sessions, "s", "k", {"v": 1})
    await put(sessions, "s", "k", {"v": 2})
    day = timedelta(days=1)
    async with sessions.begin() as session:
        assert await compact(session, retention=day) == {}
        later = datetime.now(UTC) + 2 * day
        assert await compact(session, retention=day, now=later) == {"s": 2}
        # Idempotent: the floor does not move again without older history.
        assert await compact(session, retention=day, now=later) == {}
    result = await pull_all(sessions, {"s"}, {"s": 0})
    assert result.resets == ["s"] and [c.version for c in result.changes] == [2]


async def test_pull_inside_a_transaction_the_caller_began(sessions: Sessions) -> None:
    await put(sessions, "s", "a", {"v": 1})
    async with sessions() as session:
        await session.execute(select(1))  # e.g. the server loaded the user first
        assert session.in_transaction()
        result = await pull(session, {"s"}, {"s": 0}, 10)
        assert [c.key for c in result.changes] == ["a"] and result.cursor == {"s": 1}
        # The caller's transaction is untouched and still usable for writes.
        assert session.in_transaction()
        await publish(session, "s", "item", "b", "upsert", {})
        await session.commit()
    result = await pull_all(sessions, {"s"}, {"s": 1})
    assert [c.key for c in result.changes] == ["b"]
