"""The database connection dies at each statement of the order path: 503 + Retry-After, then
a retry places the order exactly once (issue 14).

The faults are real: on PostgreSQL a proxy on the wire cuts the request's connection just
before statement *i* (whether SQLAlchemy or asyncpg sent it; see ``tests.faults.pg_proxy``);
on SQLite the request's driver connection is closed under statement *i*. Both reach the app as
the driver's own error. No background loop runs in the app, so every statement is the
request's.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.util import await_only

from server.db.engine import Database
from server.orders.models import Order
from server.settings import Settings
from tests.conftest import make_settings
from tests.fakes.wechat import FakeWechat
from tests.faults.pg_proxy import PgProxy
from tests.orders.conftest import Shop

Client = AsyncTestClient[Litestar]
CART = [{"sku": "W-550", "qty": 10}, {"sku": "W-1L", "qty": 4}]


@dataclass
class SqliteCutter:
    """Counts the app's statements; closes the driver connection under the ``armed``-th."""

    armed: int | None = None
    seen: int = 0
    cuts: int = 0

    def before_statement(self, conn: Any, *_: Any) -> None:
        self.seen += 1
        if self.armed is not None and self.seen == self.armed:
            self.cuts += 1
            await_only(conn.connection.driver_connection.close())

    def arm(self, index: int | None) -> None:
        self.armed, self.seen = index, 0


Cutter = PgProxy | SqliteCutter


@pytest.fixture
async def cutter(backend: str, database_url: str) -> AsyncIterator[Cutter]:
    if backend == "sqlite":
        yield SqliteCutter()
        return
    proxy = PgProxy(make_url(database_url).port or 5432)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, fake_wechat: FakeWechat, cutter: Cutter
) -> Settings:
    """The app reaches PostgreSQL through the proxy; no background loops run in it."""
    url = database_url
    if isinstance(cutter, PgProxy):
        url = (
            make_url(database_url)
            .set(port=cutter.port)
            .update_query_dict({"ssl": "disable"})  # the proxy reads the wire protocol
            .render_as_string(hide_password=False)
        )
    return make_settings(url, tmp_path, fake_wechat.base_url, jobs_in_process=False)


@pytest.fixture
def armed(app: Litestar, cutter: Cutter) -> Cutter:
    if isinstance(cutter, SqliteCutter):
        database: Database = app.state.database
        for engine in {database.engine.sync_engine, database.read_engine.sync_engine}:
            event.listen(engine, "before_cursor_execute", cutter.before_statement)
    return cutter


async def order_count(db: Database) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(Order)) or 0)


async def test_a_connection_cut_at_any_statement_of_placement_is_503_then_one_order(
    client: Client, db: Database, shop: Shop, armed: Cutter
) -> None:
    for _ in range(2):  # the first order also warms caches: count the second one
        armed.arm(None)
        first = await client.post(
            "/mp/orders", json={"id": str(uuid.uuid4()), "lines": CART}, headers=shop.headers
        )
        assert first.status_code == 201, first.text
    statements = armed.seen
    assert statements >= 5  # the path really runs through the cutter
    placed, cuts, recovered = 2, 0, 0
    for index in range(1, statements + 1):
        body = {"id": str(uuid.uuid4()), "lines": CART}
        armed.arm(index)
        failed = await client.post("/mp/orders", json=body, headers=shop.headers)
        assert armed.cuts == cuts + 1, index  # statement i really died
        cuts = armed.cuts
        if failed.status_code == 201:
            # The pool's pre-ping met the cut and reconnected before the request began:
            # the order went through on a fresh connection, once.
            recovered += 1
            placed += 1
            assert await order_count(db) == placed
            continue
        assert failed.status_code == 503, (index, failed.text)
        assert failed.headers["content-type"].startswith("application/problem+json")
        assert int(failed.headers["retry-after"]) >= 1
        assert failed.json()["code"] == "database_unavailable"
        assert await order_count(db) == placed, (index, "a 503 must leave no order behind")
        armed.arm(None)
        retried = await client.post("/mp/orders", json=body, headers=shop.headers)
        assert retried.status_code == 201, (index, retried.text)
        again = await client.post("/mp/orders", json=body, headers=shop.headers)
        assert (again.status_code, again.json()["id"]) == (200, body["id"])
        placed += 1
        assert await order_count(db) == placed
    # Only a checkout's pre-ping absorbs a cut: the path checks out at most three connections.
    assert recovered <= 3, recovered


async def test_a_connection_cut_at_any_statement_of_the_order_list_is_503(
    client: Client, shop: Shop, armed: Cutter
) -> None:
    for _ in range(2):
        armed.arm(None)
        assert (await client.get("/mp/orders", headers=shop.headers)).status_code == 200
    statements = armed.seen
    assert statements >= 1
    recovered = 0
    for index in range(1, statements + 1):
        armed.arm(index)
        failed = await client.get("/mp/orders", headers=shop.headers)
        assert armed.cuts >= 1
        if failed.status_code == 200:  # the pool's pre-ping absorbed the cut
            recovered += 1
            continue
        assert (failed.status_code, failed.json()["code"]) == (503, "database_unavailable")
        assert failed.headers["retry-after"]
        armed.arm(None)
        assert (await client.get("/mp/orders", headers=shop.headers)).status_code == 200
    assert recovered <= 3  # one pre-ping per connection checkout
