"""Signing in to the console gives the browser a new session id: an id someone planted before
the sign-in (session fixation) never carries the signed-in session. No browser needed."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient

from console.session import SESSION_COOKIE
from server.db.engine import Database
from server.identity.models import Role
from tests.factories import make_user

Client = AsyncTestClient[Litestar]
PLANTED = "a" * 64


async def test_sign_in_rotates_the_session_id(client: Client, db: Database) -> None:
    await make_user(db, Role.HQ_ADMIN, username="ops", password="channelhub-demo")
    page = await client.get("/console/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    client.cookies.set(SESSION_COOKIE, PLANTED, path="/console")
    signed_in = await client.post(
        "/console/login",
        data={"username": "ops", "password": "channelhub-demo", "_csrf_token": token[1]},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text[:500]
    fresh = signed_in.cookies.get(SESSION_COOKIE)
    assert fresh and fresh != PLANTED
    # The new id opens the console; the planted one is nobody's session.
    client.cookies.delete(SESSION_COOKIE)
    client.cookies.set(SESSION_COOKIE, fresh, path="/console")
    assert (await client.get("/console/", follow_redirects=False)).status_code == 200
    client.cookies.delete(SESSION_COOKIE)
    client.cookies.set(SESSION_COOKIE, PLANTED, path="/console")
    planted = await client.get("/console/", follow_redirects=False)
    assert planted.status_code in (302, 303, 401), planted.status_code
