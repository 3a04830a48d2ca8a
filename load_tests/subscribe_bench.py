"""1,000 WeChat subscription messages through the fake WeChat server by real ``channelhub
worker`` processes, one of them killed (SIGKILL) in the middle; prints one JSON object.

    python -m load_tests.subscribe_bench [--messages 1000] [--workers 2] [--redis URL]

The fake (``tests.fakes.wechat``, a real HTTP server in this process) enforces the field rules
(47003), the one-time authorizations (43101) and the token (40001/42001), and answers each send
after ``--latency`` seconds. ``--messages`` users (10 per dealer) each accepted the template
once; one event per dealer (an order rejected, with a reason longer than a ``thing`` field)
tells its 10 users. When a third of the messages have gone out, one worker is killed; a new one
takes its place (as a supervisor would restart it); jobs it held come back when their lease
ends (30 s).

Figures: ``sent`` (WeChat took), ``refused_for_content`` (47003: must be 0), ``sent_twice``
(the fake received one event's message for one user more than once: must be 0),
``uncertain`` (messages a killed worker was sending: never retried; ``uncertain_delivered``
says how many of them WeChat had in fact taken), ``skipped`` / ``failed``, ``token_fetches``,
``seconds`` from the first worker's start to the last message settled (``killed_at_s``: when
the worker was killed; the jobs it held wait out their 30 s lease), ``per_second``, and the
box's ``load_average`` at the end (compare runs by it).

Measured on the dev box (2026-12-02, 2 cores shared with other work, load average 7-8, 10 ms
fake latency): 1,000 sent, 0 sent twice, 0 refused for content, 1 uncertain (WeChat had it),
1 token fetch; 83 s with the token row (killed at 43 s), 106 s through Redis (killed at 56 s),
9-12 messages a second including the 30 s lease wait. Before the job runner claimed again as
soon as a job freed a slot it took 150-190 s (each worker claimed once per 1 s poll).

A fresh PostgreSQL database (``channelhub_bench_notify``, or ``CHANNELHUB_BENCH_PG_DB``) is
created and dropped. Figures are measurements, never assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from load_tests.server_process import ADMIN_URL, bench_database, recreate_database
from server.db.engine import Database
from server.db.migrate import upgrade
from server.db.session import transaction
from server.dealers.models import Dealer, DealerTier
from server.identity.models import Role, User
from server.notifications import EventKind, notify
from server.notifications.models import (
    MessageStatus,
    SubscriptionGrant,
    SubscriptionMessage,
    SubscriptionTemplate,
)
from server.settings import DatabaseSettings
from tests.fakes.wechat import APPID, SECRET, FakeWechat

TEMPLATE = "BENCH-ORDER-REJECTED"
FIELDS = {
    "character_string1": "orderNo",
    "amount2": "amount",
    "phrase3": "status",
    "time4": "at",
    "thing5": "reason",
}
REASON = "库存不足，且该经销商本月信用额度已超出上限，请联系区域经理重新提交订单并补充资料"
PER_DEALER = 10
FINAL = (MessageStatus.SENT, MessageStatus.SKIPPED, MessageStatus.FAILED, MessageStatus.UNCERTAIN)


async def seed(db: Database, fake: FakeWechat, messages: int) -> list[uuid.UUID]:
    """Dealers with ``PER_DEALER`` WeChat users each, every user holding one authorization."""
    fake.subscribe.templates[TEMPLATE] = tuple(FIELDS)
    dealers: list[uuid.UUID] = []
    async with transaction(db) as s:
        s.add(DealerTier(code="core", name_zh="核心", name_en="Core"))
        s.add(
            SubscriptionTemplate(
                id=uuid.uuid4(),
                template_id=TEMPLATE,
                event_kind=str(EventKind.ORDER_REJECTED),
                title="订单审核结果",
                page="pages/orders/detail",
                fields=[{"key": k, "param": p} for k, p in FIELDS.items()],
            )
        )
        await s.flush()
        for n in range(messages // PER_DEALER):
            dealer_id = uuid.uuid4()
            dealers.append(dealer_id)
            s.add(Dealer(id=dealer_id, code=f"N{n:05d}", name=f"经销商{n}", tier_code="core"))
        await s.flush()
        for n in range(messages):
            user_id, openid = uuid.uuid4(), f"bench-openid-{n:05d}"
            s.add(
                User(
                    id=user_id,
                    display_name=f"用户{n}",
                    role=Role.DEALER_STAFF,
                    dealer_id=dealers[n // PER_DEALER],
                    wechat_openid=openid,
                )
            )
            s.add(SubscriptionGrant(user_id=user_id, template_id=TEMPLATE, remaining=1, accepted=1))
            fake.subscribe.grant(openid, TEMPLATE)
    return dealers


async def tell(db: Database, dealers: list[uuid.UUID]) -> None:
    """One event per dealer: its order was rejected (one transaction each, as requests do)."""
    for n, dealer_id in enumerate(dealers):
        async with transaction(db) as s:
            await notify(
                s,
                EventKind.ORDER_REJECTED,
                f"bench-{n}",
                dealer_ids=[dealer_id],
                params={
                    "orderNo": f"SO{n:06d}",
                    "amount": 1_234_567 + n,
                    "status": "rejected",
                    "reason": REASON,
                    "at": datetime.now(UTC),
                },
            )


def start_worker(url: str, fake: FakeWechat, redis_url: str | None) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CHANNELHUB_DATABASE_URL": url,
        "CHANNELHUB_WECHAT_BASE_URL": fake.base_url,
        "CHANNELHUB_WECHAT_APPID": APPID,
        "CHANNELHUB_WECHAT_SECRET": SECRET,
        "CHANNELHUB_AUTH_JWT_SECRET": "bench-secret-" + "n" * 40,
        "CHANNELHUB_LOG_LEVEL": "ERROR",
    }
    env.pop("CHANNELHUB_REDIS_URL", None)
    if redis_url:
        env["CHANNELHUB_REDIS_URL"] = redis_url
    return subprocess.Popen(
        [sys.executable, "-m", "server", "worker", "--concurrency", "4"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def statuses(db: Database) -> Counter[str]:
    async with db.session() as s:
        rows = await s.execute(
            select(SubscriptionMessage.status, func.count()).group_by(SubscriptionMessage.status)
        )
        return Counter({str(status): int(n) for status, n in rows})


async def uncertain_openids(db: Database) -> set[str]:
    async with db.session() as s:
        rows = await s.execute(
            select(SubscriptionMessage.openid).where(
                SubscriptionMessage.status == MessageStatus.UNCERTAIN
            )
        )
        return set(rows.scalars())


async def run(args: argparse.Namespace) -> dict[str, Any]:
    name = bench_database("channelhub_bench_notify")
    url = await recreate_database(name)
    await asyncio.to_thread(upgrade, url)
    db = Database(DatabaseSettings(url=url))
    with FakeWechat() as fake:
        fake.subscribe.send_delay = args.latency
        dealers = await seed(db, fake, args.messages)
        await tell(db, dealers)
        started = time.monotonic()
        workers = [start_worker(url, fake, args.redis) for _ in range(args.workers)]
        killed = await kill_midway(workers, fake, args.messages // 3, url, args.redis)
        kill_at = time.monotonic() - started
        counts = await settle(db, args.messages, args.timeout)
        seconds = time.monotonic() - started
        for worker in workers:
            worker.terminate()
            worker.wait(10)
        result = figures(fake, counts, seconds, killed, await uncertain_openids(db), args)
        await db.dispose()
        return {**result, "killed_at_s": round(kill_at, 2), "load_average": os.getloadavg()[0]}


async def kill_midway(
    workers: list[subprocess.Popen[bytes]],
    fake: FakeWechat,
    after: int,
    url: str,
    redis_url: str | None,
) -> int:
    """SIGKILL the first worker once ``after`` messages went out; start another in its place."""
    for _ in range(50 * 600):  # at most 10 minutes
        if len(fake.subscribe.sent) >= after:
            break
        await asyncio.sleep(0.02)
    victim = workers[0]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(10)
    workers[0] = start_worker(url, fake, redis_url)
    return victim.pid


async def settle(db: Database, messages: int, seconds: float) -> Counter[str]:
    """Wait until every message has a final status (or ``seconds`` have passed)."""
    deadline = time.monotonic() + seconds
    counts: Counter[str] = Counter()
    while time.monotonic() < deadline:
        counts = await statuses(db)
        if sum(counts[str(s)] for s in FINAL) >= messages:
            break
        await asyncio.sleep(0.25)
    return counts


def figures(
    fake: FakeWechat,
    counts: Counter[str],
    seconds: float,
    killed: int,
    uncertain: set[str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    sent = fake.subscribe.sent
    per_message = Counter((s.openid, s.data["character_string1"]) for s in sent)
    return {
        "messages": args.messages,
        "workers": args.workers,
        "killed_worker_pid": killed,
        "token_store": "redis" if args.redis else "database",
        "sent": len(sent),
        "sent_twice": sum(1 for n in per_message.values() if n > 1),
        "refused_for_content": fake.subscribe.refused[47003],
        "refused": dict(fake.subscribe.refused),
        "statuses": dict(counts),
        "uncertain": counts[str(MessageStatus.UNCERTAIN)],
        "uncertain_delivered": len({s.openid for s in sent} & uncertain),
        "token_fetches": fake.subscribe.token_fetches,
        "seconds": round(seconds, 2),
        "per_second": round(len(sent) / seconds, 1) if seconds else None,
        "latency_s": args.latency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.01)
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--redis", default=None, help="share the token through this Redis")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result, ensure_ascii=False))
    asyncio.run(drop(bench_database("channelhub_bench_notify")))


async def drop(name: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


if __name__ == "__main__":
    main()
