"""The approval trail on PostgreSQL: what an append adds to a decision, and how long
``audit verify`` takes over a long chain; prints one JSON object.

    python -m load_tests.decision_chain_bench --json [--decisions 1000] [--entries 1000000]

- ``append_p50_ms`` / ``append_p95_ms``: the pre-commit hook ``append_decisions`` per
  decision (lock the chain head row, write the entry and the new head in one statement,
  publish the head to ``trail:decisions``), measured around the hook inside real decisions:
  ``set_credit_limit`` on one of 50 dealers, one transaction each, sequentially.
- ``note_p50_ms``: the deciding service's side, ``note_decision`` (hashing the document's
  state); ``added_p50_ms`` = the p50 of both together, the time the trail adds per decision.
- ``decision_p50_ms``: the whole decision with its commit, for scale; ``round_trip_p50_ms``:
  one ``SELECT 1`` on the same connection just before the hook, the box's speed at the time
  (the append is two round trips: the head-and-entry statement and the head's publication).
- ``verify_entries`` / ``verify_s``: ``verify_trail`` in process over a chain of
  ``--entries`` entries (generated with the chain's own functions and loaded with ``COPY``;
  ``load_s`` says how long that took), and ``cli_verify_s``: ``channelhub audit verify`` as
  a user runs it (process start included), with its exit code.

Measured on the dev box (2026-12-02, 2 cores shared with other work, load average 3-4):
``append_p50_ms`` 0.73-0.81 (p95 3.2-3.3), ``note_p50_ms`` 0.045, ``added_p50_ms`` 0.77-0.82
against a ``round_trip_p50_ms`` of 0.32-0.35 and a whole decision of 9.6-13.5 ms;
``verify_s`` 17.7 for 1,001,050 entries and ``cli_verify_s`` 20.9 (``load_s`` 46.7). On a
saturated box (load 6, round trip 3 ms) the same run gave 2.9 ms and 33 s: compare runs by
their round trip. Before the append was one statement (head ``SELECT ... FOR UPDATE``, then
entry and head, then the publication) it measured 1.4-1.8 ms.

A fresh database (``channelhub_bench_trail``, or ``CHANNELHUB_BENCH_PG_DB``) is created and
dropped. Figures are measurements, never assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from load_tests.server_process import bench_database, recreate_database
from server.accounts.funds import set_credit_limit
from server.db import fast
from server.db.engine import Database
from server.db.migrate import upgrade
from server.db.session import transaction
from server.dealers.models import Dealer, DealerTier
from server.identity.models import Role
from server.identity.principal import Principal
from server.settings import DatabaseSettings
from server.trail import note_decision
from server.trail.chain import GENESIS, append_decisions, chain_hash, entry_body
from server.trail.verify import verify_trail

ROUND_TRIP = select(literal(1))
HQ = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "role",
    "document_type",
    "document_id",
    "content_hash",
    "outcome",
    "comment",
    "body",
    "prev_hash",
    "entry_hash",
)


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


async def _dealers(db: Database, count: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    async with transaction(db) as s:
        s.add(DealerTier(code="core", name_zh="核心", name_en="Core"))
        await s.flush()
        for n, dealer_id in enumerate(ids):
            s.add(Dealer(id=dealer_id, code=f"B{n:05d}", name=f"经销商{n}", tier_code="core"))
    return ids


async def measure_appends(db: Database, decisions: int) -> dict[str, Any]:
    """Sequential credit-limit decisions, the hook timed inside each commit."""
    appends: list[float] = []
    trips: list[float] = []

    async def timed_append(session: AsyncSession) -> None:
        # One round trip first: the box's speed right now, and the session's driver connection
        # looked up, as the app's earlier pre-commit hook (publish_pending) has done by then.
        started = time.perf_counter()
        await fast.rows(session, ROUND_TRIP)
        trips.append(time.perf_counter() - started)
        started = time.perf_counter()
        await append_decisions(session)
        appends.append(time.perf_counter() - started)

    dealers = await _dealers(db, 50)
    db.before_commit.append(timed_append)
    totals: list[float] = []
    for n in range(decisions + 50):  # the first 50 warm the pool and the statements
        started = time.perf_counter()
        async with transaction(db) as s:
            await set_credit_limit(s, HQ, dealers[n % 50], 10_000 + n, "授信调整")
        if n >= 50:
            totals.append(time.perf_counter() - started)
    appends, trips = appends[50:], trips[50:]
    notes: list[float] = []
    for n in range(decisions):  # a fresh session each, as a request has (its first note
        # registers the commit guard on it)
        async with db.session() as s:
            state = {"dealerId": str(dealers[n % 50]), "from": n, "to": n + 1}
            started = time.perf_counter()
            note_decision(s, HQ, "credit_limit", dealers[n % 50], "changed", state, "授信调整")
            notes.append(time.perf_counter() - started)
    added = [a + b for a, b in zip(appends, notes, strict=True)]
    db.before_commit.remove(timed_append)
    return {
        "decisions": decisions,
        "append_p50_ms": _ms(appends, 0.5),
        "append_p95_ms": _ms(appends, 0.95),
        "note_p50_ms": _ms(notes, 0.5),
        "added_p50_ms": _ms(added, 0.5),
        "decision_p50_ms": _ms(totals, 0.5),
        "round_trip_p50_ms": _ms(trips, 0.5),
    }


def _chain(start: int, count: int, prev: str, at0: datetime) -> tuple[list[tuple[Any, ...]], str]:
    """Entries ``start .. start+count-1`` of a correct chain, computed as an append would."""
    rows: list[tuple[Any, ...]] = []
    actor = HQ.user_id
    for seq in range(start, start + count):
        at = at0 + timedelta(milliseconds=seq)
        document_id = str(uuid.UUID(int=seq))
        digest = f"{seq:064x}"
        outcome = "approved" if seq % 3 else "rejected"
        comment = "" if seq % 5 else "同意"
        body = entry_body(
            seq, at, actor, "hq_admin", "order", document_id, digest, outcome, comment
        )
        own = chain_hash(prev, body)
        rows.append(
            (
                seq,
                at,
                actor,
                "hq_admin",
                "order",
                document_id,
                digest,
                outcome,
                comment,
                body.decode(),
                prev,
                own,
            )
        )
        prev = own
    return rows, prev


async def load_chain(url: str, entries: int) -> float:
    """A correct chain of ``entries`` after whatever is there, loaded with COPY; seconds."""
    started = time.perf_counter()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        head = await conn.fetchrow("SELECT seq, entry_hash FROM decision_chain_head WHERE id = 1")
        seq, prev = (int(head["seq"]), str(head["entry_hash"])) if head else (0, GENESIS)
        at0 = datetime(2026, 1, 1, tzinfo=UTC)
        batch = 100_000
        async with conn.transaction():
            for first in range(seq + 1, seq + entries + 1, batch):
                count = min(batch, seq + entries + 1 - first)
                rows, prev = _chain(first, count, prev, at0)
                await conn.copy_records_to_table("decision_entries", records=rows, columns=COLUMNS)
            await conn.execute(
                "UPDATE decision_chain_head SET seq = $1, entry_hash = $2 WHERE id = 1",
                seq + entries,
                prev,
            )
        await conn.execute("VACUUM ANALYZE decision_entries")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def run(decisions: int, entries: int) -> dict[str, Any]:
    name = bench_database("channelhub_bench_trail")
    url = await recreate_database(name)
    await asyncio.to_thread(upgrade, url)
    db = Database(DatabaseSettings(url=url))
    try:
        result = await measure_appends(db, decisions)
        result["load_s"] = round(await load_chain(url, entries), 1)
        started = time.perf_counter()
        async with db.session(write=False) as s:
            verification = await verify_trail(s)
        result["verify_s"] = round(time.perf_counter() - started, 2)
        result["verify_entries"] = verification.checked
        result["verify_ok"] = verification.ok
    finally:
        await db.dispose()
    started = time.perf_counter()
    cli = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server", "audit", "verify"],
        env={**os.environ, "CHANNELHUB_DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    result["cli_verify_s"] = round(time.perf_counter() - started, 2)
    result["cli_exit_code"] = cli.returncode
    result["cli_output"] = cli.stdout.strip().splitlines()[-1:] or cli.stderr[-300:]
    result["database"] = name
    return result


async def _drop(name: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from load_tests.server_process import ADMIN_URL

    engine = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


def main() -> None:
    """Run the benchmark and print one JSON object."""
    import json

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    parser.add_argument("--decisions", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    result = asyncio.run(run(args.decisions, args.entries))
    if not args.keep:
        asyncio.run(_drop(result["database"]))
    print(json.dumps(result, ensure_ascii=False, separators=(",", ":")))


if __name__ == "__main__":
    main()
