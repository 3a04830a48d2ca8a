"""Delivery tracking: acks, who has a publication, who lags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sync import SyncForbidden, node_lags, publication_status, publish, record_ack

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


async def test_publication_status_counts_acked_and_lists_laggards(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        for i in range(4):
            await publish(session, "price:east", "price", f"k{i}", "upsert", {"i": i})
        east = {"price:east"}
        await record_ack(session, "phone-1", {"price:east": 4}, subscribed=east, now=T0)
        await record_ack(session, "phone-2", {"price:east": 2}, subscribed=east, now=T0)
        await record_ack(session, "phone-3", {}, subscribed=east, now=T0 - timedelta(days=7))
        # A snapshot in progress (negative cursor) acknowledges nothing yet.
        await record_ack(session, "phone-4", {"price:east": -3}, subscribed=east, now=T0)
    async with sessions() as session:
        status = await publication_status(session, "price:east", 3)
        assert (status.subscribed, status.acked) == (4, 1)
        assert [(n.node_id, n.acked_version, n.lag) for n in status.lagging] == [
            ("phone-3", 0, 4),
            ("phone-4", 0, 4),
            ("phone-2", 2, 2),
        ]
        assert status.lagging[0].last_seen_at == T0 - timedelta(days=7)
        lags = await node_lags(session, only_lagging=True)
        assert [n.node_id for n in lags] == ["phone-3", "phone-4", "phone-2"]


async def test_acks_only_move_forward_and_lost_scopes_are_forgotten(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        for scope in ("a", "b"):
            for i in range(3):
                await publish(session, scope, "x", str(i), "upsert", {})
        await record_ack(session, "n1", {"a": 3, "b": 1}, subscribed={"a", "b"}, now=T0)
        await record_ack(session, "n1", {"a": 1}, subscribed={"a"}, now=T0 + timedelta(hours=1))
    async with sessions() as session:
        lags = await node_lags(session)
    assert [(n.scope, n.acked_version, n.lag) for n in lags] == [("a", 3, 0)]
    assert lags[0].last_seen_at == T0 + timedelta(hours=1)
    assert lags[0].acked_at == T0


async def test_a_node_cannot_be_acked_by_another_subject(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        await record_ack(session, "phone", {}, subscribed={"a"}, subject_id="alice", now=T0)
        await record_ack(session, "phone", {}, subscribed={"a"}, subject_id="alice", now=T0)
        with pytest.raises(SyncForbidden) as info:
            await record_ack(session, "phone", {"a": 0}, subscribed=set(), subject_id="bob")
    assert info.value.code == "client_forbidden"
