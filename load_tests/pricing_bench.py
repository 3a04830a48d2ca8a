"""Pricing benchmarks on real server processes and PostgreSQL; prints one JSON object.

    python -m load_tests.pricing_bench --json

- ``cart_p50_ms``: in-process ``price_cart`` of a 50-line cart (``pricing_cart_bench``).
- ``catalog_rps``: ``GET /mp/catalog/skus`` (50 SKUs with the dealer's own prices), cycling
  over ``--pages`` cursor pages, against one uvicorn process on 127.0.0.1.
- ``baseline_orm_row_rps``: ``GET /hq/warehouses/{id}``, a one-row SQLAlchemy ORM read on the
  same server in the same run. ``ratio = catalog_rps / baseline_orm_row_rps``.
- ``import_50k_seconds``: a 50,000-row .xlsx validated, diffed and written into a draft, then
  published (``import_50k_publish_seconds``), on the same PostgreSQL database.

The load generator is ``wrk`` (apt package ``wrk``) with a bounded duration per run; runs of
the two endpoints alternate and the median of each (and of the per-round ratios)
is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from load_tests.server_process import (
    SECRET,
    bench_database,
    free_port,
    recreate_database,
    start_server,
)

DATABASE = bench_database("channelhub_bench_catalog")
SKUS = 50_000


async def _seed(url: str) -> dict[str, Any]:
    """Regions, tiers, one dealer, HQ user, a warehouse, 50,000 SKUs, tier and region lists."""
    from sqlalchemy import insert

    from server.catalog.models import Category, Product, Sku
    from server.catalog.service import bump_revision, pinyin_keys
    from server.db.engine import Database
    from server.db.session import transaction
    from server.dealers.models import Dealer, DealerRegion, DealerTier
    from server.identity.models import Role, User
    from server.pricelists.models import PriceListEntry, PriceListStatus, PriceListVersion
    from server.pricing import Scope
    from server.regions.models import Region, RegionLevel
    from server.settings import DatabaseSettings
    from server.warehouses.models import Warehouse

    database = Database(DatabaseSettings(url=url))
    ids: dict[str, Any] = {}
    async with transaction(database) as s:
        s.add(Region(code="330000", name="浙江省", level=RegionLevel.PROVINCE))
        await s.flush()
        s.add(Region(code="330100", name="杭州市", level=RegionLevel.CITY, parent_code="330000"))
        s.add(DealerTier(code="core", name_zh="核心", name_en="Core", rank=1))
        await s.flush()
        dealer = Dealer(
            id=uuid.uuid4(),
            code="D001",
            name="杭州鑫源商贸有限公司",
            tier_code="core",
            regions=[DealerRegion(region_code="330100")],
        )
        warehouse = Warehouse(
            id=uuid.uuid4(), code="WH-HZ", name="华东杭州仓", region_code="330100"
        )
        s.add_all([dealer, warehouse])
        await s.flush()
        dealer_user = User(
            id=uuid.uuid4(), display_name="王建国", role=Role.DEALER_ADMIN, dealer_id=dealer.id
        )
        hq_user = User(id=uuid.uuid4(), display_name="总部", role=Role.HQ_ADMIN)
        s.add_all([dealer_user, hq_user])
        category = Category(id=uuid.uuid4(), code="water", name="饮用水")
        s.add(category)
        await s.flush()
        product = Product(
            id=uuid.uuid4(),
            code="P1",
            name="农夫山泉天然水",
            brand="农夫山泉",
            category_id=category.id,
        )
        s.add(product)
        await s.flush()
        flavours = ["天然水", "茉莉花茶", "红烧牛肉面", "纯牛奶", "橙汁"]
        rows = []
        for n in range(SKUS):
            name = f"农夫山泉{flavours[n % 5]} {n % 997}号"
            full, initials = pinyin_keys(name)
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "code": f"SKU{n:06d}",
                    "product_id": product.id,
                    "name": name,
                    "spec": "550ml×24",
                    "unit": "箱",
                    "pack_size": 1,
                    "min_order_qty": 1,
                    "whole_cases": False,
                    "barcode": f"69{n:011d}",
                    "status": "ACTIVE",
                    "pinyin": full,
                    "pinyin_initials": initials,
                    "image_keys": [],
                    "created_at": _now(),
                    "updated_at": _now(),
                }
            )
        for start in range(0, len(rows), 5000):
            await s.execute(insert(Sku.__table__), rows[start : start + 5000])
        for code, scope, key, share in (
            ("PL-CORE", Scope.TIER, "core", 2),
            ("PL-ZJ", Scope.REGION, "330000", 5),
        ):
            pl = PriceListVersion(
                id=uuid.uuid4(),
                code=code,
                version=1,
                name=code,
                scope=scope,
                scope_key=key,
                priority=0,
                currency="CNY",
                status=PriceListStatus.PUBLISHED,
                published_at=_now(),
            )
            s.add(pl)
            await s.flush()
            items = [
                {
                    "price_list_id": pl.id,
                    "sku_code": f"SKU{n:06d}",
                    "unit_price": 900 + n % 300,
                    "break_kind": "range",
                    "breaks": [{"min_qty": 10, "unit_price": 850 + n % 300, "max_qty": None}],
                }
                for n in range(0, SKUS, share)
            ]
            for start in range(0, len(items), 5000):
                await s.execute(insert(PriceListEntry.__table__), items[start : start + 5000])
        await bump_revision(s)
        ids.update(dealer_user=dealer_user, hq_user=hq_user, warehouse=warehouse.id)
    await database.dispose()
    return ids


def _now() -> Any:
    from server.db.base import utcnow

    return utcnow()


def _xlsx_50k() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["商品编码", "单价(元)", "阶梯类型", "阶梯价"])
    for n in range(SKUS):
        price = 10 + (n % 500) / 100
        breaks = f"10-49:{price - 0.5:.2f}; 50+:{price - 1:.2f}" if n % 3 == 0 else None
        sheet.append([f"SKU{n:06d}", round(price, 2), "range" if breaks else None, breaks])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def _import_50k(url: str) -> dict[str, float]:
    """Time a 50k-row .xlsx import into a new default list's draft, then its publish."""
    from server.db.engine import Database
    from server.db.session import transaction
    from server.pricelists import imports, service
    from server.pricelists.schemas import PriceListCreate
    from server.pricing import Scope
    from server.settings import DatabaseSettings
    from server.trail import install_trail

    data = _xlsx_50k()
    database = Database(DatabaseSettings(url=url))
    install_trail(database)  # the publish is a decision in the approval trail
    async with transaction(database) as s:
        from server.identity.models import Role
        from server.identity.principal import Principal

        actor = Principal(user_id=uuid.uuid4(), role=Role.HQ_ADMIN)
        draft = await service.create_price_list(
            s, actor, PriceListCreate(code="PL-DEF", name="全国统一价", scope=Scope.DEFAULT)
        )
        draft_id = draft.id
    started = time.perf_counter()
    async with transaction(database) as s:
        report = await imports.import_into_draft(
            s, None, draft_id, data, "prices.xlsx", dry_run=False
        )
    imported = time.perf_counter() - started
    assert report.applied and report.rows == SKUS, report
    started = time.perf_counter()
    async with transaction(database) as s:
        await service.publish(s, None, draft_id)
    published = time.perf_counter() - started
    await database.dispose()
    return {
        "import_50k_seconds": round(imported, 2),
        "import_50k_publish_seconds": round(published, 2),
        "import_50k_xlsx_bytes": len(data),
    }


def _wrk(base: str, paths: list[str], token: str, seconds: int, connections: int) -> float:
    """Requests/sec of one wrk run cycling over ``paths``; any non-2xx answer aborts."""
    lua = ", ".join(json.dumps(p) for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            f"local paths = {{{lua}}}\nlocal i = 0\n"
            "request = function()\n  i = i % #paths + 1\n"
            f'  return wrk.format("GET", paths[i], {{["Authorization"] = "Bearer {token}"}})\nend\n'
        )
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", script.name, base]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    Path(script.name).unlink()
    if "Non-2xx" in result.stdout:
        raise RuntimeError("non-2xx responses:\n" + result.stdout)
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    assert match, result.stdout
    return float(match.group(1))


def _page_paths(pages: int) -> list[str]:
    from server.schemas import encode_cursor

    paths = ["/mp/catalog/skus?limit=50"]
    for page in range(1, pages):
        cursor = encode_cursor(f"SKU{page * 50 - 1:06d}")
        paths.append(f"/mp/catalog/skus?limit=50&cursor={cursor}")
    return paths


def run(seconds: int, rounds: int, pages: int, connections: int) -> dict[str, Any]:
    from load_tests.pricing_cart_bench import measure_cart_p50_ms
    from server.db.migrate import upgrade
    from server.identity.principal import Principal
    from server.identity.tokens import issue_access_token
    from server.settings import AuthSettings

    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    result: dict[str, Any] = {"cart_p50_ms": round(measure_cart_p50_ms(), 3)}
    url = asyncio.run(recreate_database(DATABASE))
    upgrade(url)
    ids = asyncio.run(_seed(url))
    result.update(asyncio.run(_import_50k(url)))
    auth = AuthSettings(jwt_secret=SECRET)
    dealer, hq = ids["dealer_user"], ids["hq_user"]
    dealer_token = issue_access_token(
        auth, Principal(user_id=dealer.id, role=dealer.role, dealer_id=dealer.dealer_id)
    )
    hq_token = issue_access_token(auth, Principal(user_id=hq.id, role=hq.role))
    port = free_port()
    server = start_server(url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        page = httpx.get(
            f"{base}/mp/catalog/skus?limit=50", headers={"Authorization": f"Bearer {dealer_token}"}
        )
        items = page.json()["items"]
        assert len(items) == 50 and all(item["price"] for item in items), page.text[:500]
        catalog_paths = _page_paths(pages)
        baseline_paths = [f"/hq/warehouses/{ids['warehouse']}"]
        _wrk(base, catalog_paths, dealer_token, 2, connections)  # warm-up (fills the cache)
        _wrk(base, baseline_paths, hq_token, 2, connections)
        catalog: list[float] = []
        baseline: list[float] = []
        for _ in range(rounds):
            baseline.append(_wrk(base, baseline_paths, hq_token, seconds, connections))
            catalog.append(_wrk(base, catalog_paths, dealer_token, seconds, connections))
    finally:
        server.terminate()
        server.wait(10)
    result.update(
        catalog_rps=round(statistics.median(catalog), 1),
        baseline_orm_row_rps=round(statistics.median(baseline), 1),
        catalog_runs=[round(x) for x in catalog],
        baseline_runs=[round(x) for x in baseline],
        catalog_pages=pages,
        wrk_connections=connections,
        wrk_seconds=seconds,
    )
    result["ratio"] = round(result["catalog_rps"] / result["baseline_orm_row_rps"], 2)
    # The box is shared and noisy: each round runs both endpoints back to back, so the
    # median of the per-round ratios is the steadier figure.
    result["ratio_median_per_round"] = round(
        statistics.median(c / b for c, b in zip(catalog, baseline, strict=True)), 2
    )
    return result


def main() -> None:
    """Run everything and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    print(
        json.dumps(
            run(args.seconds, args.rounds, args.pages, args.connections), separators=(",", ":")
        )
    )


if __name__ == "__main__":
    main()
