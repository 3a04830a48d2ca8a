"""Catch-up benchmark: a node offline while 10,000 changes accumulated, how long to be current.

    .venv/bin/python -m load_tests.sync_catchup --changes 10000 --json

Starts the real server, lets a dealer's reference client (``sync.client.SyncClient``, local
SQLite store) sync once, takes it offline, has HQ publish price-list versions through the HQ
API until at least ``--changes`` changes accumulated in the dealer's scopes, then times the
client's ``sync()`` (pull pages until ``hasMore`` is false, applied to its local store).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

from load_tests.server_process import login, running_server
from sync.client import SyncClient


async def run(base: str, changes: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        hq = {"Authorization": f"Bearer {await login(http, 'hq')}"}
        dealer = await login(http, "dealer01")
        items = [{"sku": f"SKU{n:05d}", "unitPrice": 1000 + n} for n in range(1, 201)]
        created = await http.post(
            "/hq/price-lists",
            headers=hq,
            json={
                "code": "CATCHUP",
                "name": "catch-up bench",
                "scope": "default",
                "priority": -50,
                "items": items,
            },
        )
        created.raise_for_status()
        (
            await http.post(f"/hq/price-lists/{created.json()['id']}/publish", headers=hq)
        ).raise_for_status()
        with tempfile.TemporaryDirectory() as tmp:
            client = SyncClient(http, dealer, str(Path(tmp) / "node.db"), page_size=2000)
            await client.sync()
            before = sum(client.cursor().values())
            published = 0
            round_no = 0
            while published < changes:  # the node is offline meanwhile
                round_no += 1
                draft = await http.post("/hq/price-lists/by-code/CATCHUP/versions", headers=hq)
                draft.raise_for_status()
                draft_id = draft.json()["id"]
                new_items = [{**item, "unitPrice": item["unitPrice"] + round_no} for item in items]
                (
                    await http.put(
                        f"/hq/price-lists/{draft_id}/items", headers=hq, json={"items": new_items}
                    )
                ).raise_for_status()
                (
                    await http.post(f"/hq/price-lists/{draft_id}/publish", headers=hq)
                ).raise_for_status()
                published += len(items) + 1
            started = time.perf_counter()
            await client.sync()
            elapsed = time.perf_counter() - started
            behind = sum(client.cursor().values()) - before
            state = client.state("price:default")
            prices = {
                k[1]: v["unitPrice"]
                for k, v in state.items()
                if k[0] == "price" and k[1].startswith("CATCHUP:")
            }
            client.close()
    return {
        "changes": behind,
        "catch_up_s": round(elapsed, 3),
        "converged": all(
            prices.get(f"CATCHUP:SKU{n:05d}") == 1000 + n + round_no for n in range(1, 201)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    args = parser.parse_args()
    with running_server(args.port, database_url=args.database_url) as base:
        result = asyncio.run(run(base, args.changes))
    result["backend"] = "postgresql" if args.database_url else "sqlite"
    print(msgspec.json.encode(result).decode())


if __name__ == "__main__":
    main()
