"""HQ's webhook administration through the API (admins change, operators read), and the audit
trail it leaves, read back with ``search_audit`` (who, what, when, paged)."""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.audit import AuditSearch, search_audit
from server.db.base import utcnow
from server.db.engine import Database
from server.identity.models import Role
from server.settings import Settings
from tests.factories import bearer, make_user

Client = AsyncTestClient[Litestar]


async def test_admins_pause_resume_and_delete_operators_only_read(
    client: Client, db: Database, settings: Settings
) -> None:
    admin_user = await make_user(db, Role.HQ_ADMIN)
    admin = bearer(settings, admin_user)
    operator = bearer(settings, await make_user(db, Role.HQ_OPERATOR))
    created = await client.post(
        "/hq/sync/webhooks",
        json={"url": "http://127.0.0.1:9/erp", "scopes": ["price:default"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()["endpointId"]
    listed = await client.get("/hq/sync/webhooks", headers=operator)
    assert listed.status_code == 200
    [row] = listed.json()
    assert (row["endpointId"], row["active"], row["pending"], row["dead"]) == (endpoint, True, 0, 0)
    assert "secret" not in row
    refused = await client.post(f"/hq/sync/webhooks/{endpoint}/pause", headers=operator)
    assert refused.status_code == 403
    assert (
        await client.delete(f"/hq/sync/webhooks/{endpoint}", headers=operator)
    ).status_code == 403
    assert (await client.get("/hq/sync/webhooks", headers=admin)).json()[0]["active"] is True
    assert (
        await client.post(f"/hq/sync/webhooks/{endpoint}/pause", headers=admin)
    ).status_code == 204
    assert (await client.get("/hq/sync/webhooks", headers=admin)).json()[0]["active"] is False
    assert (
        await client.post(f"/hq/sync/webhooks/{endpoint}/resume", headers=admin)
    ).status_code == 204
    log = await client.get(
        "/hq/sync/webhooks/deliveries", params={"status": "dead"}, headers=operator
    )
    assert (log.status_code, log.json()) == (200, [])
    bad = await client.get(
        "/hq/sync/webhooks/deliveries", params={"status": "lost"}, headers=operator
    )
    assert bad.status_code == 422
    assert (await client.delete(f"/hq/sync/webhooks/{endpoint}", headers=admin)).status_code == 204
    gone = await client.post(f"/hq/sync/webhooks/{endpoint}/pause", headers=admin)
    assert (gone.status_code, gone.json()["code"]) == (404, "webhook_not_found")
    assert (await client.get("/hq/sync/webhooks", headers=admin)).json() == []
    async with db.session(write=False) as session:
        trail, more = await search_audit(session, AuditSearch(action="webhook."))
    assert more is None
    assert [e.action for e in trail] == [
        "webhook.deleted",
        "webhook.resumed",
        "webhook.paused",
        "webhook.registered",
    ]
    assert {(e.actor_id, e.entity_id) for e in trail} == {(admin_user.id, endpoint)}


async def test_the_audit_trail_is_searched_by_who_what_and_when_in_pages(
    client: Client, db: Database, settings: Settings
) -> None:
    admin_user = await make_user(db, Role.HQ_ADMIN)
    other_user = await make_user(db, Role.HQ_ADMIN)
    for user, n in ((admin_user, 3), (other_user, 1)):
        for i in range(n):
            answer = await client.post(
                "/hq/tiers",
                json={
                    "code": f"t{user.id.hex[:4]}{i}",
                    "nameZh": "层级",
                    "nameEn": "Tier",
                    "rank": i,
                },
                headers=bearer(settings, user),
            )
            assert answer.status_code == 201, answer.text
    async with db.session(write=False) as session:
        mine = AuditSearch(actor_id=admin_user.id, action="tier.")
        first, cursor = await search_audit(session, mine, limit=2)
        assert len(first) == 2 and cursor is not None
        rest, end = await search_audit(session, mine, cursor=cursor, limit=2)
        assert len(rest) == 1 and end is None
        pages = first + rest
        assert [e.at for e in pages] == sorted((e.at for e in pages), reverse=True)
        assert len({e.entity_id for e in pages}) == 3
        assert {e.actor_role for e in pages} == {"hq_admin"}
        everyone, _ = await search_audit(session, AuditSearch(action="tier.created"))
        assert len(everyone) == 4
        later = AuditSearch(action="tier.", since=utcnow() + timedelta(minutes=1))
        assert (await search_audit(session, later))[0] == []
        earlier = AuditSearch(action="tier.", until=utcnow() - timedelta(minutes=1))
        assert (await search_audit(session, earlier))[0] == []
        assert (await search_audit(session, AuditSearch(action="tier%")))[0] == []
