"""The ``channelhub`` command: serve, migrate, seed demo data, export the OpenAPI spec."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from server.settings import load_settings

if TYPE_CHECKING:
    from server.db.engine import Database
    from server.settings import Settings


class _Commands(click.Group):
    """The command group; ``ocr`` (numpy, images) is imported only when it runs."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "ocr":
            from ocr.cli import ocr_group

            return ocr_group
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), "ocr"])


@click.group(cls=_Commands)
def main() -> None:
    """channelhub: dealer-channel backend."""


@main.command()
def migrate() -> None:
    """Apply database migrations up to the newest."""
    from server.db.migrate import upgrade

    settings = load_settings()
    upgrade(settings.database.url)
    click.echo(f"migrated {settings.database.url}")


@main.command("seed-demo")
@click.option(
    "--password",
    default="channelhub-demo",
    show_default=True,
    help="Password for every demo login.",
)
def seed_demo(password: str) -> None:
    """Load demo data (idempotent) and print the logins."""
    from server.demo import seed

    settings = load_settings()
    logins = asyncio.run(seed(settings, password))
    click.echo("Demo logins (POST /auth/login, or /mp/auth/dev-login in dev mode):")
    for role, username, name in logins:
        click.echo(f"  {role:<13} {username:<16} {name}    password: {password}")


@main.command("seed-scale")
@click.option("--dealers", default=10_000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--skus", default=20_000, show_default=True, type=click.IntRange(300, 200_000))
@click.option("--orders", default=200_000, show_default=True, type=click.IntRange(0, 5_000_000))
@click.option("--claims", default=20_000, show_default=True, type=click.IntRange(0, 1_000_000))
@click.option("--seed", "seed_value", default=17, show_default=True, type=int)
@click.option("--password", default="channelhub-demo", show_default=True)
@click.option("--force", is_flag=True, help="Load even if the database already holds data.")
def seed_scale(
    dealers: int, skus: int, orders: int, claims: int, seed_value: int, password: str, force: bool
) -> None:
    """Load the demo data and a large channel (for benchmarks) into an empty database."""
    import time

    from server.demo.scale import ScaleRefused, ScaleSizes
    from server.demo.scale import seed_scale as load

    settings = load_settings()
    sizes = ScaleSizes(dealers=dealers, skus=skus, orders=orders, claims=claims)
    started = time.perf_counter()
    try:
        counts = asyncio.run(
            load(
                settings,
                sizes,
                seed_value=seed_value,
                force=force,
                password=password,
                say=lambda line: click.echo(f"  {line}", err=True),
            )
        )
    except ScaleRefused as exc:
        click.echo(f"refused: {exc}", err=True)
        sys.exit(2)
    click.echo(json.dumps({**counts, "seconds": round(time.perf_counter() - started, 1)}))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API with uvicorn (uvloop, httptools)."""
    import uvicorn

    uvicorn.run(
        "server.asgi:app" if workers > 1 else "server.asgi:create",
        factory=workers == 1,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        log_level="warning",
        ws_per_message_deflate=False,
        # WebSocket keepalive, part of the sync protocol's contract (PROTOCOL.md, slow
        # consumers): a client that has not answered a ping for 20 s is closed with 1011.
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
    )


@main.command()
@click.option("--concurrency", default=2, show_default=True, type=int)
def worker(concurrency: int) -> None:
    """Run background jobs (OCR, webhooks) until interrupted."""
    from datetime import timedelta

    from server.app import job_registry
    from server.db.engine import Database
    from server.jobs.queue import JobRunner
    from server.notifications import WechatMessaging
    from server.replication.wiring import SyncHousekeeping, install_sync_hooks
    from server.storage.backends import create_storage
    from sync import Hub, SyncSettings

    settings = load_settings()

    async def run() -> None:
        database = Database(settings.database)
        storage = create_storage(
            settings.storage, settings.public_base_url, settings.auth.jwt_secret
        )
        # Jobs publish like requests do: changes before the commit, pokes after it (through
        # Redis when configured, so devices connected to the API processes hear of them).
        hub = Hub.from_settings(SyncSettings(redis_url=settings.redis_url))
        install_sync_hooks(database, hub)
        await hub.start()
        messaging = WechatMessaging(settings.wechat, database, settings.redis_url)
        registry = job_registry(storage, messaging=messaging, timezone=settings.timezone)
        runner = JobRunner(database, registry, concurrency=concurrency)
        housekeeping = SyncHousekeeping(database, timedelta(days=settings.sync_retention_days))
        runner.start()
        housekeeping.start()
        try:
            await asyncio.Event().wait()
        finally:
            await housekeeping.stop()
            await runner.stop()
            await messaging.aclose()
            await hub.stop()
            await database.dispose()

    click.echo(f"worker: {concurrency} at a time on {settings.database.url}")
    asyncio.run(run())


@main.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
def openapi(output: Path | None) -> None:
    """Write the OpenAPI spec the app serves (stdout by default)."""
    text = render_openapi()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        click.echo(f"wrote {output}", err=True)


def render_openapi() -> str:
    """The spec exactly as the app serves it at /schema/openapi.json (byte for byte)."""
    import tempfile

    from litestar.testing import TestClient

    from server.app import create_app
    from server.settings import AuthSettings, DatabaseSettings, Settings, StorageSettings

    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            auth=AuthSettings(jwt_secret="openapi-export-only"),
            database=DatabaseSettings(url=f"sqlite+aiosqlite:///{scratch}/unused.db"),
            storage=StorageSettings(local_dir=scratch),
            jobs_in_process=False,
        )
        with TestClient(create_app(settings)) as client:
            response = client.get("/schema/openapi.json")
            response.raise_for_status()
            return response.text


@main.group("audit")
def audit() -> None:
    """The approval trail."""


def _parse_head(value: str | None) -> tuple[int, str] | None:
    """``SEQ:HASH`` as given by a dealer's synced head; None when not given."""
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        from server.messages import texts

        text = texts("trail.head_invalid")
        raise click.BadParameter(f"{text.zh} / {text.en}", param_hint="--head")
    return int(seq), digest


@audit.command("verify")
@click.option("--head", "head", default=None, help="Also check a head a dealer holds: SEQ:HASH.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def audit_verify(head: str | None, as_json: bool) -> None:
    """Recompute the approval trail's hash chain; exit 1 naming the first entry that breaks."""
    import msgspec

    from server.db.engine import Database
    from server.trail import Verification, verify_trail

    expected = _parse_head(head)
    settings = load_settings()

    async def run() -> Verification:
        database = Database(settings.database)
        try:
            async with database.session(write=False) as session:
                return await verify_trail(session, expected)
        finally:
            await database.dispose()

    result = asyncio.run(run())
    if as_json:
        click.echo(msgspec.json.encode(result).decode())
    else:
        click.echo(result.zh)
        click.echo(result.en)
    if not result.ok:
        sys.exit(1)


@main.group("price-list")
def price_list() -> None:
    """Price lists: import from Excel (.xlsx) or CSV, dry-run diff, publish."""


@price_list.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--list",
    "code",
    required=True,
    help="Price list code; rows go into its draft (else a new version of it).",
)
@click.option(
    "--apply/--dry-run",
    default=False,
    show_default=True,
    help="Replace the draft's items (only if every row is valid), or only report.",
)
@click.option("--publish", "publish_after", is_flag=True, help="Publish the draft after applying.")
def import_price_list(path: Path, code: str, apply: bool, publish_after: bool) -> None:
    """Validate a price file row by row, show the diff, optionally apply and publish."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    settings = load_settings()
    console = Console(stderr=True)
    started = time.perf_counter()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} rows"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"importing {path.name}", total=None)
        report = asyncio.run(
            _import_file(
                settings,
                path.read_bytes(),
                path.name,
                code,
                apply=apply,
                publish_after=publish_after,
                progress=lambda rows: progress.update(task, completed=rows),
            )
        )
    elapsed = time.perf_counter() - started
    out = json.loads(report)
    out["seconds"] = round(elapsed, 3)
    click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    if not out.get("valid", False):
        sys.exit(1)


def _deciding_database(settings: Settings) -> Database:
    """A database whose commits append the decisions they note to the approval trail."""
    from server.db.engine import Database
    from server.trail import install_trail

    database = Database(settings.database)
    install_trail(database)
    return database


async def _import_file(
    settings: object,
    data: bytes,
    filename: str,
    code: str,
    *,
    apply: bool,
    publish_after: bool,
    progress: object,
) -> str:
    import msgspec
    from sqlalchemy import select

    from server.db.session import transaction
    from server.errors import ChannelhubError
    from server.pricelists import imports, service
    from server.pricelists.models import PriceListStatus, PriceListVersion
    from server.settings import Settings

    assert isinstance(settings, Settings)
    database = _deciding_database(settings)  # publishing is a decision
    try:
        async with transaction(database) as session:
            draft = (
                await session.execute(
                    select(PriceListVersion).where(
                        PriceListVersion.code == code,
                        PriceListVersion.status == PriceListStatus.DRAFT,
                    )
                )
            ).scalar_one_or_none()
            if draft is None:
                draft = await service.new_version(session, None, code)
            report = await imports.import_into_draft(
                session,
                None,
                draft.id,
                data,
                filename,
                dry_run=not apply,
                progress=progress,  # type: ignore[arg-type]
            )
            result = msgspec.to_builtins(report)
            if apply and publish_after:
                published = await service.publish(session, None, draft.id)
                result["published"] = {"code": published.code, "version": published.version}
            return msgspec.json.encode(result).decode()
    except ChannelhubError as exc:
        return json.dumps(
            {
                "valid": False,
                "code": exc.code,
                "message": exc.zh,
                "errors": (exc.errors or [])[:50],
            },
            ensure_ascii=False,
        )
    finally:
        await database.dispose()
