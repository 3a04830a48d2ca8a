"""The approval trail: decisions join a hash chain, HQ reads it, ``audit verify`` names the
first entry that was edited, deleted or reordered, and the head reaches dealers through sync."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text

from server.db.engine import Database
from server.db.session import transaction
from server.identity.models import Role
from server.identity.principal import Principal
from server.pricelists.models import PriceListStatus
from server.settings import Settings
from server.trail import TRAIL_SCOPE, chain_head, note_decision, verify_trail
from sync.tables import sync_change
from tests.factories import bearer, make_dealer, make_price_list, make_sku, make_user

Client = AsyncTestClient[Litestar]
GENESIS = "0" * 64


async def hq_headers(db: Database, settings: Settings) -> tuple[dict[str, str], uuid.UUID]:
    user = await make_user(db, Role.HQ_ADMIN)
    return bearer(settings, user), user.id


async def decisions(client: Client, headers: dict[str, str], **query: Any) -> dict[str, Any]:
    response = await client.get("/hq/decisions", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def add_entries(db: Database, count: int, *, document_id: str = "doc") -> None:
    """``count`` decisions, one transaction each (the way requests append them)."""
    hq = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
    for n in range(count):
        async with transaction(db) as s:
            state = {"n": n, "note": "价格 ✓"}
            note_decision(s, hq, "order", f"{document_id}-{n}", "approved", state, f"第{n}次")


def recomputed_chain(entries: list[dict[str, Any]]) -> str:
    """The head a dealer computes from the entries alone (oldest first), as the spec says."""
    prev = GENESIS
    for e in entries:
        assert e["prevHash"] == prev
        body = json.loads(e["body"])
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert canonical == e["body"]
        prev = hashlib.sha256((prev + canonical).encode()).hexdigest()
        assert prev == e["hash"]
    return prev


async def test_decisions_are_chained_read_by_filters_and_published(
    client: Client, db: Database, settings: Settings
) -> None:
    headers, hq_id = await hq_headers(db, settings)
    dealer = await make_dealer(db)
    await make_sku(db, "W1")
    draft = await make_price_list(db, "STD", {"W1": 1000}, status=PriceListStatus.DRAFT)
    started = datetime.now(UTC)
    published = await client.post(f"/hq/price-lists/{draft.id}/publish", headers=headers)
    assert published.status_code == 200, published.text
    for limit in (50_000, 80_000):
        response = await client.put(
            f"/hq/dealers/{dealer.id}/accounts/credit-limit",
            json={"limit": limit, "reason": "年度授信"},
            headers=headers,
        )
        assert response.status_code == 200, response.text

    page = await decisions(client, headers)
    items = page["items"]
    assert [(e["seq"], e["documentType"], e["outcome"]) for e in items] == [
        (3, "credit_limit", "changed"),
        (2, "credit_limit", "changed"),
        (1, "price_list", "published"),
    ]
    newest = items[0]
    assert newest["actorId"] == str(hq_id)
    assert newest["role"] == "hq_admin"
    assert newest["documentId"] == str(dealer.id)
    assert newest["comment"] == "年度授信"
    state = {"dealerId": str(dealer.id), "from": 50_000, "to": 80_000}
    canonical_state = json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
    assert newest["contentHash"] == hashlib.sha256(canonical_state).hexdigest()
    assert json.loads(newest["body"])["seq"] == 3
    head = recomputed_chain(list(reversed(items)))

    # Each document's own entries, and the other filters.
    own = await decisions(client, headers, documentType="credit_limit", documentId=str(dealer.id))
    assert [e["seq"] for e in own["items"]] == [3, 2]
    assert [e["seq"] for e in (await decisions(client, headers, outcome="published"))["items"]] == [
        1
    ]
    assert len((await decisions(client, headers, actorId=str(hq_id)))["items"]) == 3
    assert (await decisions(client, headers, actorId=str(uuid.uuid4())))["items"] == []
    later = (started + timedelta(hours=1)).isoformat()
    assert (await decisions(client, headers, since=later))["items"] == []
    assert len((await decisions(client, headers, since=started.isoformat()))["items"]) == 3
    first = await decisions(client, headers, limit=2)
    assert [e["seq"] for e in first["items"]] == [3, 2]
    rest = await decisions(client, headers, limit=2, cursor=first["nextCursor"])
    assert [e["seq"] for e in rest["items"]] == [1] and rest["nextCursor"] is None

    answered = await client.get("/hq/decisions/head", headers=headers)
    assert answered.json() == {"seq": 3, "hash": head}
    async with db.session() as s:
        verification = await verify_trail(s)
        published_heads = (
            await s.execute(
                select(sync_change.c.data)
                .where(sync_change.c.scope == TRAIL_SCOPE)
                .order_by(sync_change.c.version)
            )
        ).scalars()
        payloads = [json.loads(d) if isinstance(d, str | bytes) else d for d in published_heads]
    assert verification.ok and verification.checked == 3
    assert [p["seq"] for p in payloads] == [1, 2, 3]  # once per move
    assert payloads[-1] == {"seq": 3, "hash": head}


async def test_dealers_subscribe_to_the_trail_head(
    client: Client, db: Database, settings: Settings
) -> None:
    headers, _ = await hq_headers(db, settings)
    dealer = await make_dealer(db)
    dealer_user = await make_user(db, Role.DEALER_ADMIN, dealer=dealer)
    response = await client.put(
        f"/hq/dealers/{dealer.id}/accounts/credit-limit",
        json={"limit": 10_000, "reason": "首次授信"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    pulled = await client.post(
        "/sync/pull", json={"cursor": {}, "protocol": 1}, headers=bearer(settings, dealer_user)
    )
    assert pulled.status_code == 200, pulled.text
    changes = [c for c in pulled.json()["changes"] if c["scope"] == TRAIL_SCOPE]
    async with db.session() as s:
        seq, digest = await chain_head(s)
    assert seq == 1
    assert [(c["entity"], c["key"], c["data"]) for c in changes] == [
        ("decision_head", "head", {"seq": 1, "hash": digest})
    ]


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"documentType": "no_such_document"}, 422, "request_invalid"),
        ({"actorId": "not-a-uuid"}, 422, "request_invalid"),
        ({"limit": "0"}, 422, "request_invalid"),
        (
            {"since": "2026-12-02T10:00:00Z", "until": "2026-12-02T09:00:00Z"},
            422,
            "time_range_invalid",
        ),
        ({"cursor": "@@@"}, 400, "cursor_invalid"),
    ],
)
async def test_bad_filters_are_problems(
    client: Client, db: Database, settings: Settings, query: dict[str, str], status: int, code: str
) -> None:
    headers, _ = await hq_headers(db, settings)
    response = await client.get("/hq/decisions", params=query, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


async def test_dealers_cannot_read_the_trail(
    client: Client, db: Database, settings: Settings
) -> None:
    dealer = await make_dealer(db)
    user = await make_user(db, Role.DEALER_ADMIN, dealer=dealer)
    response = await client.get("/hq/decisions", headers=bearer(settings, user))
    assert response.status_code == 403


async def test_a_rolled_back_decision_leaves_no_entry(db: Database) -> None:
    hq = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
    with pytest.raises(LookupError):
        async with transaction(db) as s:
            note_decision(s, hq, "order", "gone", "approved", {})
            raise LookupError
    await add_entries(db, 1)
    async with db.session() as s:
        assert (await chain_head(s))[0] == 1
        assert (await verify_trail(s)).ok


async def test_a_commit_without_the_trail_hook_refuses_a_noted_decision(
    settings: Settings,
) -> None:
    bare = Database(settings.database)  # no pre-commit hooks installed
    try:
        with pytest.raises(RuntimeError, match="approval trail"):
            async with transaction(bare) as s:
                note_decision(s, None, "order", "lost", "approved", {})
        async with bare.session() as s:
            assert (await chain_head(s))[0] == 0
    finally:
        await bare.dispose()


# Tampering, done the way someone with database access would: plain SQL on the rows.


Statement = str | tuple[str, dict[str, Any]]


async def tamper(db: Database, backend: str, *statements: Statement) -> None:
    async with db.engine.begin() as conn:
        if backend == "postgres":
            await conn.execute(
                text("ALTER TABLE decision_entries DISABLE TRIGGER decision_entries_append_only")
            )
        for statement in statements:
            sql, params = (statement, {}) if isinstance(statement, str) else statement
            await conn.execute(text(sql), params)
        if backend == "postgres":
            await conn.execute(
                text("ALTER TABLE decision_entries ENABLE TRIGGER decision_entries_append_only")
            )


async def verified(db: Database, expected: tuple[int, str] | None = None) -> tuple[bool, Any, str]:
    async with db.session() as s:
        result = await verify_trail(s, expected)
    return result.ok, result.broken_seq, result.code


async def test_edits_deletions_and_reordering_are_named_at_the_right_entry(
    db: Database, backend: str
) -> None:
    await add_entries(db, 6)
    assert await verified(db) == (True, None, "trail.verified")

    # An edited column: the entry no longer gives back its canonical JSON.
    await tamper(db, backend, "UPDATE decision_entries SET outcome = 'rejected' WHERE seq = 3")
    assert await verified(db) == (False, 3, "trail.entry_altered")
    await tamper(db, backend, "UPDATE decision_entries SET outcome = 'approved' WHERE seq = 3")
    assert await verified(db) == (True, None, "trail.verified")

    # Column and canonical JSON edited together: the hash no longer matches.
    await tamper(
        db,
        backend,
        "UPDATE decision_entries SET comment = 'x', "
        'body = replace(body, \'"comment":"第2次"\', \'"comment":"x"\') WHERE seq = 3',
    )
    assert await verified(db) == (False, 3, "trail.hash_mismatch")


async def test_a_rewritten_entry_breaks_the_next_link(db: Database, backend: str) -> None:
    await add_entries(db, 5)
    async with db.session() as s:
        row = (
            await s.execute(text("SELECT body, prev_hash FROM decision_entries WHERE seq = 2"))
        ).one()
    body = str(row[0]).replace('"comment":"第1次"', '"comment":"改"')
    forged = hashlib.sha256((str(row[1]) + body).encode()).hexdigest()
    rewrite = "UPDATE decision_entries SET comment = '改', body = :body, entry_hash = :hash"
    await tamper(db, backend, (f"{rewrite} WHERE seq = 2", {"body": body, "hash": forged}))
    assert await verified(db) == (False, 3, "trail.link_broken")


async def test_deleted_entries_are_named(db: Database, backend: str) -> None:
    await add_entries(db, 5)
    await tamper(db, backend, "DELETE FROM decision_entries WHERE seq = 3")
    assert await verified(db) == (False, 4, "trail.entry_missing")


async def test_a_deleted_last_entry_disagrees_with_the_head(db: Database, backend: str) -> None:
    await add_entries(db, 5)
    await tamper(db, backend, "DELETE FROM decision_entries WHERE seq = 5")
    assert await verified(db) == (False, 5, "trail.head_mismatch")


async def test_reordered_entries_are_named(db: Database, backend: str) -> None:
    await add_entries(db, 5)
    await tamper(
        db,
        backend,
        "UPDATE decision_entries SET seq = 100 WHERE seq = 2",
        "UPDATE decision_entries SET seq = 2 WHERE seq = 3",
        "UPDATE decision_entries SET seq = 3 WHERE seq = 100",
    )
    assert await verified(db) == (False, 2, "trail.entry_altered")


async def test_a_fully_rewritten_tail_still_differs_from_the_head_a_dealer_holds(
    db: Database, backend: str
) -> None:
    """Entry 2 forged with every later hash and the head recomputed: the chain verifies on its
    own, but not against the head a dealer received before the rewrite."""
    await add_entries(db, 4)
    async with db.session() as s:
        held = await chain_head(s)
        rows = (await s.execute(text("SELECT seq, body FROM decision_entries ORDER BY seq"))).all()
    prev, statements = GENESIS, list[Statement]()
    for seq, stored_body in rows:
        body = str(stored_body).replace('"comment":"第1次"', '"comment":"改"')
        digest = hashlib.sha256((prev + body).encode()).hexdigest()
        comment = "改" if seq == 2 else f"第{seq - 1}次"
        statements.append(
            (
                "UPDATE decision_entries SET comment = :comment, body = :body, "
                "prev_hash = :prev, entry_hash = :hash WHERE seq = :seq",
                {"comment": comment, "body": body, "prev": prev, "hash": digest, "seq": seq},
            )
        )
        prev = digest
    statements.append(("UPDATE decision_chain_head SET entry_hash = :hash", {"hash": prev}))
    await tamper(db, backend, *statements)
    assert await verified(db) == (True, None, "trail.verified")
    assert await verified(db, held) == (False, 4, "trail.expected_mismatch")


async def test_the_trail_refuses_updates_and_deletes_on_postgresql(
    db: Database, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("the append-only trigger is PostgreSQL's")
    await add_entries(db, 1)
    for statement in (
        "UPDATE decision_entries SET outcome = 'rejected'",
        "DELETE FROM decision_entries",
    ):
        with pytest.raises(Exception, match="append-only"):
            async with db.engine.begin() as conn:
                await conn.execute(text(statement))


def test_audit_verify_command_names_the_first_break(database_url: str) -> None:
    """The CLI: exit 0 and the head when the trail verifies, exit 1 naming the entry if not."""
    import asyncio

    from server.db.engine import Database as Db
    from server.settings import DatabaseSettings
    from server.trail import install_trail

    async def prepare(break_it: bool) -> None:
        database = Db(DatabaseSettings(url=database_url))
        install_trail(database)
        try:
            if not break_it:
                await add_entries(database, 3)
            else:
                backend = "postgres" if database.engine.dialect.name == "postgresql" else "sqlite"
                await tamper(database, backend, "DELETE FROM decision_entries WHERE seq = 2")
        finally:
            await database.dispose()

    env = {**os.environ, "CHANNELHUB_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "server", "audit", "verify"]
    asyncio.run(prepare(break_it=False))
    ok = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "3 entries" in ok.stdout and "共 3 条" in ok.stdout
    asyncio.run(prepare(break_it=True))
    broken = subprocess.run(
        [*command, "--json"], env=env, capture_output=True, text=True, check=False
    )
    assert broken.returncode == 1
    result = json.loads(broken.stdout)
    assert (result["brokenSeq"], result["code"]) == (3, "trail.entry_missing")
    assert "Entry 3 does not follow entry 1" in result["en"]
