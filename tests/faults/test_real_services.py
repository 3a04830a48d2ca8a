"""Faults on real services (issue 14): two ``channelhub serve`` replicas and job workers on a
PostgreSQL and a Redis of their own, which the tests stop, kill and start again.

Each case prints one line of figures (``-s``; also in the terminal summary): requests answered
5xx other than 503, nodes behind after recovery, time to recover, jobs decided twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from sync import SLOW_CONSUMER_CLOSE, RedisPokeBackend
from tests.faults.clients import ABNORMAL_CLOSURE, Placer, PokeNode, SilentNode, record
from tests.faults.cluster import Cluster, Replica, report, sql, wait_for
from tests.server.test_websocket_protocol import close_codes

pytestmark = pytest.mark.slow

# Dealers served by the Hangzhou warehouse (WH-HZ) in the demo data.
HZ_DEALERS = ["dealer01", "dealer02", "dealer04", "dealer05", "dealer10"]


def clients(cluster: Cluster) -> list[httpx.AsyncClient]:
    return [
        httpx.AsyncClient(base_url=r.base_url, timeout=30, limits=httpx.Limits(max_connections=64))
        for r in cluster.replicas
    ]


async def ready(replica: Replica) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=replica.base_url, timeout=10) as http:
        answer = await http.get("/ready")
        record(answer)
        return answer.status_code, answer.json()


async def metrics(replica: Replica) -> str:
    async with httpx.AsyncClient(base_url=replica.base_url, timeout=10) as http:
        return (await http.get("/metrics")).text


def gauge(text: str, name: str) -> float:
    """The value of a metric line ``name value`` in Prometheus text."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


# -- (a) PostgreSQL restarted under load ----------------------------------------------------


async def plentiful_skus(cluster: Cluster) -> list[str]:
    """The ten SKUs the Hangzhou warehouse holds most of, orderable one case at a time."""
    rows = await sql(
        cluster,
        "SELECT s.code FROM stock_levels l JOIN skus s ON s.id = l.sku_id "
        "JOIN warehouses w ON w.id = l.warehouse_id "
        "WHERE w.code = 'WH-HZ' AND l.on_hand - l.reserved >= 100 AND s.min_order_qty = 1 "
        "AND NOT s.whole_cases ORDER BY l.on_hand - l.reserved DESC, s.code LIMIT 10",
    )
    assert len(rows) == 10, rows
    return [r[0] for r in rows]


async def test_a_postgres_restart_under_orders_answers_503_and_places_every_order_once(
    healthy: Cluster,
) -> None:
    cluster = healthy
    skus = await plentiful_skus(cluster)
    orders_before = {str(r[0]) for r in await sql(cluster, "SELECT id FROM orders")}
    [(reserved_before,)] = await sql(cluster, "SELECT coalesce(sum(reserved), 0) FROM stock_levels")
    http = clients(cluster)
    placers = [
        Placer(http[i % 2], cluster.headers(HZ_DEALERS[i % len(HZ_DEALERS)])) for i in range(16)
    ]
    stop_ordering = asyncio.Event()
    outage: dict[str, float] = {}
    lists: list[tuple[float, float, int]] = []

    async def keep_ordering(placer: Placer, seed: int) -> None:
        n = seed
        while not stop_ordering.is_set():
            n += 1
            await placer.place(
                [
                    {"sku": skus[n % len(skus)], "qty": 1},
                    {"sku": skus[(n + 3) % len(skus)], "qty": 2},
                ]
            )

    async def keep_listing(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        while not stop_ordering.is_set():
            started = time.monotonic()
            with contextlib.suppress(httpx.TransportError):
                answer = await client.get("/mp/orders", headers=headers)
                record(answer)
                lists.append((started, time.monotonic(), answer.status_code))
            await asyncio.sleep(0.1)

    tasks = [asyncio.create_task(keep_ordering(p, i * 7)) for i, p in enumerate(placers)]
    tasks += [asyncio.create_task(keep_listing(c, cluster.headers("dealer01"))) for c in http]
    try:
        await asyncio.sleep(2)
        outage["stopping"] = time.monotonic()
        await asyncio.to_thread(cluster.pg.stop, "fast")
        outage["down"] = time.monotonic()
        await asyncio.sleep(3)
        outage["starting"] = time.monotonic()
        await asyncio.to_thread(cluster.pg.start)
        outage["up"] = time.monotonic()
        await asyncio.sleep(4)
    finally:
        stop_ordering.set()
        done, pending = await asyncio.wait(tasks, timeout=60)
        for task in pending:
            task.cancel()
        for client in http:
            await client.aclose()
    assert not pending, "orders still retrying a minute after PostgreSQL returned"
    for task in done:
        task.result()

    statuses: Counter[int] = sum((p.statuses for p in placers), Counter())
    placed = {order_id: at for p in placers for order_id, at in p.placed.items()}
    refused = {order_id: s for p in placers for order_id, s in p.refused.items()}
    bad_5xx = sum(n for s, n in statuses.items() if s >= 500 and s != 503)
    list_statuses = Counter(s for _, _, s in lists)
    during = [
        s for began, ended, s in lists if began > outage["down"] and ended < outage["starting"]
    ]
    first_after = min((at for at in placed.values() if at > outage["up"]), default=None)
    stored_ids = {str(r[0]) for r in await sql(cluster, "SELECT id FROM orders")} - orders_before
    [(orders, lines_qty, lines_reserved)] = await sql(
        cluster,
        "SELECT count(DISTINCT o.id), coalesce(sum(l.qty), 0), coalesce(sum(l.reserved), 0) "
        "FROM orders o JOIN order_lines l ON l.order_id = o.id "
        "WHERE CAST(o.id AS text) = ANY(:ids)",
        ids=sorted(stored_ids),
    )
    [(reserved_after,)] = await sql(cluster, "SELECT coalesce(sum(reserved), 0) FROM stock_levels")
    stock_reserved = reserved_after - reserved_before
    recovery = f"{first_after - outage['up']:.2f} s" if first_after else "never"
    report(
        f"(a) PostgreSQL restart (stop -m fast, 3 s down) under 16 ordering clients on 2 replicas: "
        f"{len(placed)} orders placed, {orders} stored, {len(refused)} refused; "
        f"answers {dict(sorted(statuses.items()))}; 5xx other than 503: {bad_5xx}; "
        f"order lists {dict(sorted(list_statuses.items()))} ({len(during)} during the outage, "
        f"all 503: {set(during) <= {503}}); stock reserved +{stock_reserved} = lines reserved "
        f"{lines_reserved} (of {lines_qty} ordered, gifts included); first order {recovery} after PostgreSQL was back"
    )
    assert bad_5xx == 0, statuses
    assert all(s < 500 or s == 503 for s in list_statuses), list_statuses
    assert during and set(during) == {503}, during
    assert statuses[503] > 0  # the outage really met the orders
    assert refused == {}, refused
    assert sum(p.bad_retry_after for p in placers) == 0  # every 503: problem+json, Retry-After
    assert stored_ids == set(placed)  # each placed once: no order lost, none twice
    assert orders == len(placed)
    assert stock_reserved == lines_reserved  # every accepted line holds its stock, no more
    assert lines_reserved > 0
    assert first_after is not None and first_after - outage["up"] < 5


# -- (b) Redis killed: login and readiness ----------------------------------------------------


async def test_b_redis_killed_login_works_and_ready_is_degraded_on_both_replicas(
    healthy: Cluster,
) -> None:
    cluster = healthy
    assert cluster.redis is not None
    cluster.redis.kill()
    logins: Counter[int] = Counter()
    readiness: list[tuple[int, str, list[str]]] = []
    redis_up: list[float] = []
    for replica in cluster.replicas:
        async with httpx.AsyncClient(base_url=replica.base_url, timeout=10) as http:
            for username, password in [("hq", None), ("dealer01", None), ("dealer02", "wrong")]:
                body = {"username": username, "password": password or "faults-demo-pass"}
                answer = await http.post("/auth/login", json=body)
                record(answer)
                logins[answer.status_code] += 1
            status, body = await ready(replica)
            readiness.append((status, body["status"], body["degraded"]))
            redis_up.append(
                gauge(await metrics(replica), 'channelhub_dependency_up{dependency="redis"}')
            )
    cluster.redis.start()
    back = time.monotonic()
    for replica in cluster.replicas:
        await wait_for(lambda r=replica: _is_ok(r), 15, 0.2)
    recovered = time.monotonic() - back
    report(
        f"(b) Redis killed: logins {dict(logins)} on 2 replicas (no 5xx); /ready "
        f"{[(s, st) for s, st, _ in readiness]}, degraded {readiness[0][2]}; /metrics redis up "
        f"{redis_up}; both ok again {recovered:.1f} s after Redis returned"
    )
    assert logins == Counter({201: 4, 401: 2}), logins
    assert readiness == [(200, "degraded", ["redis"])] * 2, readiness
    assert redis_up == [0.0, 0.0]


async def _is_ok(replica: Replica) -> bool:
    status, body = await ready(replica)
    return status == 200 and body["status"] == "ok"


# -- (c) A price list published while Redis is down -------------------------------------------


async def publish_price_list(cluster: Cluster, replica: Replica, code: str, priority: int) -> None:
    """HQ publishes a small default-scope price list through ``replica``."""
    headers = cluster.headers("hq")
    [(sku,)] = await sql(cluster, "SELECT code FROM skus ORDER BY code LIMIT 1")
    async with httpx.AsyncClient(base_url=replica.base_url, timeout=30) as http:
        created = await http.post(
            "/hq/price-lists/",
            json={
                "code": code,
                "name": "故障演练价",
                "scope": "default",
                "priority": priority,
                "items": [{"sku": sku, "unitPrice": 1990}],
            },
            headers=headers,
        )
        record(created)
        assert created.status_code == 201, created.text
        published = await http.post(
            f"/hq/price-lists/{created.json()['id']}/publish", headers=headers
        )
        record(published)
        assert published.status_code == 200, published.text


async def scope_version(cluster: Cluster, scope: str) -> int:
    rows = await sql(cluster, "SELECT version FROM sync_scope WHERE scope = :s", s=scope)
    return int(rows[0][0]) if rows else 0


async def test_c_a_price_list_published_while_redis_is_down_reaches_every_node_after(
    healthy: Cluster,
) -> None:
    cluster = healthy
    assert cluster.redis is not None
    a, b = cluster.replicas
    dealers = [f"dealer{i:02d}" for i in range(1, 13)]
    on_a = [PokeNode(f"a{i}") for i in range(50)]
    on_b = [PokeNode(f"b{i}") for i in range(50)]
    nodes = on_a + on_b
    try:
        await asyncio.gather(
            *(n.connect(a.ws_url, cluster.login(dealers[i % 12])) for i, n in enumerate(on_a)),
            *(n.connect(b.ws_url, cluster.login(dealers[i % 12])) for i, n in enumerate(on_b)),
        )
        assert all("price:default" in n.hello["scopes"] for n in nodes)
        cluster.redis.kill()
        await wait_for(lambda: _degraded(a), 10, 0.2)
        await publish_price_list(cluster, a, f"FAULT-{uuid.uuid4().hex[:6]}", priority=7)
        published = time.monotonic()
        version = await scope_version(cluster, "price:default")
        local = await wait_for(
            lambda: not any(n.behind("price:default", version) for n in on_a), 5, 0.02
        )
        await asyncio.sleep(2)
        behind_b_while_down = sum(n.behind("price:default", version) for n in on_b)
        cluster.redis.start()
        back = time.monotonic()
        with contextlib.suppress(AssertionError):
            await wait_for(
                lambda: not any(n.behind("price:default", version) for n in nodes), 15, 0.05
            )
        caught_up = time.monotonic() - back
        behind = sum(n.behind("price:default", version) for n in nodes)
    finally:
        await asyncio.gather(*(n.close() for n in nodes))
    report(
        f"(c) price list published through api1 while Redis was down (version {version}): "
        f"50 nodes on api1 poked after {local * 1000:.0f} ms; on api2 {behind_b_while_down}/50 "
        f"behind until Redis returned, then all 100 current {caught_up:.2f} s after; "
        f"nodes behind: {behind} ({time.monotonic() - published:.1f} s after the publication)"
    )
    assert behind == 0
    assert caught_up < 10


async def _degraded(replica: Replica) -> bool:
    return (await ready(replica))[1]["status"] == "degraded"


# -- (d) /ready: cannot serve vs degraded -----------------------------------------------------


async def test_d_ready_is_503_without_postgres_and_degraded_200_without_redis(
    healthy: Cluster,
) -> None:
    cluster = healthy
    assert cluster.redis is not None
    await asyncio.to_thread(cluster.pg.stop, "fast")
    without_pg = [await ready(r) for r in cluster.replicas]
    states_pg = [gauge(await metrics(r), "channelhub_ready_state") for r in cluster.replicas]
    await asyncio.to_thread(cluster.pg.start)
    back = time.monotonic()
    for replica in cluster.replicas:
        await wait_for(lambda r=replica: _is_ok(r), 15, 0.1)
    pg_recovery = time.monotonic() - back
    cluster.redis.kill()
    without_redis = [await ready(r) for r in cluster.replicas]
    states_redis = [gauge(await metrics(r), "channelhub_ready_state") for r in cluster.replicas]
    cluster.redis.start()
    report(
        f"(d) /ready without PostgreSQL: {[(s, b['status']) for s, b in without_pg]} "
        f"(ready_state {states_pg}), ok {pg_recovery:.1f} s after it returned; without Redis: "
        f"{[(s, b['status'], b['degraded']) for s, b in without_redis]} (ready_state {states_redis})"
    )
    for status, body in without_pg:
        assert (status, body["status"]) == (503, "unavailable"), body
        assert body["checks"]["database"] != "ok"
    for status, body in without_redis:
        assert (status, body["status"], body["degraded"]) == (200, "degraded", ["redis"]), body
        assert body["checks"]["database"] == "ok"
    assert states_pg == [0.0, 0.0] and states_redis == [1.0, 1.0]


# -- (e) A worker killed mid-OCR --------------------------------------------------------------

RECEIPTS = 3
"""Read one at a time, each committed on its own: the worker is killed after the first."""


async def test_e_a_worker_killed_mid_ocr_is_taken_over_and_the_claim_decided_once(
    healthy: Cluster,
) -> None:
    from ocr.synth import available_fonts, generate

    if not available_fonts():
        pytest.skip("no CJK font for synthetic receipts")
    cluster = healthy
    receipts = [generate(500 + i, degrade=False, language="zh").image for i in range(RECEIPTS)]
    hq, dealer = cluster.headers("hq"), cluster.headers("dealer01")
    [(sku,)] = await sql(cluster, "SELECT code FROM skus ORDER BY code LIMIT 1")
    today = date.today()
    api = cluster.replicas[0]
    async with httpx.AsyncClient(base_url=api.base_url, timeout=60) as http:
        promo = await http.post(
            "/hq/promotions",
            json={
                "code": f"SO-{uuid.uuid4().hex[:6]}",
                "name": "故障演练核销",
                "mechanic": {
                    "kind": "sell_out",
                    "amount": 2000,
                    "autoApproveLimit": 5000,
                    "maxImages": RECEIPTS,
                },
                "eligibility": {"skus": [sku]},
                "startsOn": str(today - timedelta(days=10)),
                "endsOn": str(today + timedelta(days=10)),
            },
            headers=hq,
        )
        assert promo.status_code == 201, promo.text
        promotion_id = promo.json()["id"]
        published = await http.post(f"/hq/promotions/{promotion_id}/publish", headers=hq)
        assert published.status_code == 200, published.text
        claim_id = str(uuid.uuid4())
        created = await http.post(
            "/mp/claims", json={"id": claim_id, "promotionId": promotion_id}, headers=dealer
        )
        assert created.status_code == 201, created.text
        for index, image in enumerate(receipts):
            uploaded = await http.post(
                f"/mp/claims/{claim_id}/receipts",
                files={"file": (f"r{index}.png", image, "image/png")},
                headers=dealer,
            )
            assert uploaded.status_code == 200, uploaded.text
        first = cluster.start_worker("worker1")
        submitted = await http.post(f"/mp/claims/{claim_id}/submit", headers=dealer)
        assert submitted.status_code == 200, submitted.text

        async def scanned() -> int:
            rows = await sql(
                cluster,
                "SELECT count(*) FROM claim_receipts WHERE claim_id = :c AND lower(status) <> 'uploaded'",
                c=uuid.UUID(claim_id),
            )
            return int(rows[0][0])

        await wait_for(lambda: _at_least(scanned, 1), 90, 0.1)
        first.kill()  # mid-job: a receipt read and committed, the others not yet
        killed = time.monotonic()
        second = cluster.start_worker("worker2")
        read_before_kill = await scanned()
        assert read_before_kill < len(receipts), "the job finished before the kill: too fast"

        async def taken_over() -> bool:
            rows = await sql(
                cluster, "SELECT attempts FROM jobs WHERE payload::text LIKE :p", p=f"%{claim_id}%"
            )
            return bool(rows) and rows[0][0] >= 2

        await wait_for(taken_over, 60, 0.2)
        takeover = time.monotonic() - killed

        async def decided() -> bool:
            rows = await sql(
                cluster, "SELECT lower(status) FROM claims WHERE id = :c", c=uuid.UUID(claim_id)
            )
            return rows[0][0] != "processing"

        await wait_for(decided, 120, 0.2)
        decision = time.monotonic() - killed
        assert second.alive(), second.tail()
    [(status,)] = await sql(
        cluster, "SELECT lower(status) FROM claims WHERE id = :c", c=uuid.UUID(claim_id)
    )
    [(decisions,)] = await sql(
        cluster,
        "SELECT count(*) FROM claim_events WHERE claim_id = :c AND kind = 'decided'",
        c=uuid.UUID(claim_id),
    )
    [(payments,)] = await sql(
        cluster, "SELECT count(*) FROM journal_entries WHERE reference = :r", r=f"claim:{claim_id}"
    )
    [(job_status, attempts)] = await sql(
        cluster,
        "SELECT lower(status), attempts FROM jobs WHERE payload::text LIKE :p",
        p=f"%{claim_id}%",
    )
    [(unread,)] = await sql(
        cluster,
        "SELECT count(*) FROM claim_receipts WHERE claim_id = :c AND lower(status) = 'uploaded'",
        c=uuid.UUID(claim_id),
    )
    report(
        f"(e) worker SIGKILLed mid-OCR ({read_before_kill}/{RECEIPTS} receipts read): job taken over "
        f"{takeover:.1f} s after the kill (lease 30 s), claim {status} {decision:.1f} s after; "
        f"decided {decisions} time(s), paid {payments} time(s); job {job_status} after "
        f"{attempts} attempts; receipts unread: {unread}"
    )
    assert decisions == 1
    assert payments <= 1
    assert (job_status, attempts) == ("done", 2)
    assert unread == 0
    assert takeover <= 35


async def _at_least(count: Any, n: int) -> bool:
    return await count() >= n


# -- (f) Slow consumers ------------------------------------------------------------------------

CLOSE_TIMEOUT = 10  # the hub's wait for a dropped client to read its close frame
KEEPALIVE = 40  # uvicorn pings every 20 s and closes after 20 s without a pong


class Flood:
    """Pokes of one scope sent straight into the cross-replica channel, as many replicas and
    workers would publish under heavy load: every replica delivers them to its connections.

    Versions start far above the database's, so they never pass for a real publication's (the
    scope is dealer12's own, which no other case uses).
    """

    def __init__(self, redis_url: str, scope: str, per_second: float) -> None:
        self.redis = Redis.from_url(redis_url)
        self.channel = RedisPokeBackend(redis_url).channel
        self.scope, self.per_second = scope, per_second
        self.first = 2**42
        self.sent = 0
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def version(self) -> int:
        return self.first + self.sent

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        started = time.monotonic()
        while not self._stopping:
            self.sent += 1
            await self.redis.publish(self.channel, json.dumps({self.scope: self.version}))
            ahead = started + self.sent / self.per_second - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)

    async def stop(self) -> None:
        # A flag, not a cancel: redis-py may swallow a cancellation inside a command.
        if self._stopping:
            return
        self._stopping = True
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)
            self._task = None
        await self.redis.aclose()


async def dropped(replica: Replica) -> float:
    return gauge(await metrics(replica), "channelhub_realtime_dropped")


async def test_f_clients_that_stop_reading_are_closed_with_4408_and_memory_stays_bounded(
    healthy: Cluster,
) -> None:
    cluster = healthy
    token = cluster.login("dealer12")
    [(dealer_id,)] = await sql(cluster, "SELECT id FROM dealers WHERE code = 'D012'")
    scope = f"dealer:{dealer_id}"
    replicas = cluster.replicas
    quiet = {r.name: [SilentNode() for _ in range(5)] for r in replicas}
    prompt = {r.name: [SilentNode() for _ in range(50)] for r in replicas}
    late = {r.name: [SilentNode() for _ in range(50)] for r in replicas}
    readers = {r.name: [PokeNode(f"{r.name}-reader{i}") for i in range(5)] for r in replicas}
    everyone = [n for group in (quiet, prompt, late) for nodes in group.values() for n in nodes]
    flood = Flood(cluster.redis_url, scope, per_second=400)
    before = {r.name: r.rss_bytes() for r in replicas}
    peak = dict(before)
    figures: dict[str, dict[str, float]] = {}

    async def sample_memory() -> None:
        while True:
            for r in replicas:
                peak[r.name] = max(peak[r.name], r.rss_bytes())
            await asyncio.sleep(0.2)

    async def watch(replica: Replica, already: float, flood_began: float) -> None:
        silent = prompt[replica.name] + late[replica.name]
        await wait_for(lambda: _dropped_at_least(replica, already + len(silent)), 60, 0.25)
        figures[replica.name] = {
            "dropped_after": time.monotonic() - flood_began,
            "rss_at_drop": replica.rss_bytes(),
        }
        # Read again at once: the pokes still in the socket, then the close frame.
        await asyncio.gather(*(n.read_to_end(15) for n in prompt[replica.name]))

    sampler = asyncio.create_task(sample_memory())
    try:
        quiet_since = time.monotonic()
        await asyncio.gather(
            *(n.connect(r.port, cluster.login("dealer11")) for r in replicas for n in quiet[r.name])
        )
        await asyncio.gather(
            *(n.connect(r.ws_url, token) for r in replicas for n in readers[r.name])
        )
        already = {r.name: await dropped(r) for r in replicas}
        await asyncio.gather(
            *(n.connect(r.port, token) for r in replicas for n in prompt[r.name] + late[r.name])
        )
        flood.start()
        flood_began = time.monotonic()
        await asyncio.gather(*(watch(r, already[r.name], flood_began) for r in replicas))
        all_dropped = time.monotonic()
        await asyncio.sleep(3)  # the pokes go on: nothing piles up for the dropped clients
        after = {r.name: r.rss_bytes() for r in replicas}
        await flood.stop()
        every_reader = [n for nodes in readers.values() for n in nodes]
        await wait_for(
            lambda: not any(n.behind(scope, flood.version) for n in every_reader), 10, 0.05
        )
        # Read only after the close frame's wait: the server has ended those connections.
        await asyncio.sleep(max(0.0, all_dropped + CLOSE_TIMEOUT + 2 - time.monotonic()))
        await asyncio.gather(*(n.read_to_end(15) for nodes in late.values() for n in nodes))
        await asyncio.sleep(max(0.0, quiet_since + KEEPALIVE + 2 - time.monotonic()))
        await asyncio.gather(*(n.read_to_end(15) for nodes in quiet.values() for n in nodes))
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        await flood.stop()
        await asyncio.gather(*(n.close() for nodes in readers.values() for n in nodes))
        for node in everyone:
            node.close()

    def codes(group: dict[str, list[SilentNode]]) -> Counter[tuple[int | None, str]]:
        return Counter((n.close_code, n.close_reason) for nodes in group.values() for n in nodes)

    mib = 2**20
    memory = "; ".join(
        f"{r.name} RSS {before[r.name] / mib:.0f} -> peak {peak[r.name] / mib:.0f} MiB, "
        f"{(after[r.name] - figures[r.name]['rss_at_drop']) / mib:+.1f} MiB in the 3 s after "
        f"its drops"
        for r in replicas
    )
    read = [n.bytes_read for nodes in prompt.values() for n in nodes]
    report(
        f"(f) 200 WebSocket clients that stop reading (100 per replica, MSS {SilentNode.MSS}, "
        f"minimal receive buffer) under {flood.sent} pokes ({flood.per_second:.0f}/s): all "
        f"dropped {min(f['dropped_after'] for f in figures.values()):.1f}-"
        f"{max(f['dropped_after'] for f in figures.values()):.1f} s after the pokes began "
        f"(after {min(read) // 1024}-{max(read) // 1024} KiB each); read again at once "
        f"{dict(codes(prompt))}, after {CLOSE_TIMEOUT + 2} s {dict(codes(late))}; idle "
        f"non-readers {dict(codes(quiet))}; readers behind: 0/10; {memory}"
    )
    documented = close_codes()  # PROTOCOL.md's table: what a client may be told
    for code, reason in {*codes(prompt), *codes(quiet)}:
        assert code in documented and reason in documented[code].reasons, (code, reason)
    assert codes(prompt) == Counter({(SLOW_CONSUMER_CLOSE, "slow_consumer"): 100})
    assert codes(late) == Counter({(ABNORMAL_CLOSURE, ""): 100})
    assert all(n.pokes > 0 for nodes in late.values() for n in nodes)  # what was in the socket
    assert codes(quiet) == Counter({(1011, "keepalive ping timeout"): 10})
    for r in replicas:
        assert peak[r.name] - before[r.name] < 100 * mib, (r.name, peak, before)
        assert after[r.name] - figures[r.name]["rss_at_drop"] < 8 * mib, (r.name, after, figures)


async def _dropped_at_least(replica: Replica, count: float) -> bool:
    return await dropped(replica) >= count
