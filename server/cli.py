"""The ``channelhub`` command: serve, migrate, seed demo data, export the OpenAPI spec."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from server.settings import load_settings


@click.group()
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
    )


@main.command()
@click.option("--concurrency", default=2, show_default=True, type=int)
def worker(concurrency: int) -> None:
    """Run background jobs (OCR, webhooks) until interrupted."""
    from server.app import job_registry
    from server.db.engine import Database
    from server.jobs.queue import JobRunner

    settings = load_settings()

    async def run() -> None:
        database = Database(settings.database)
        runner = JobRunner(database, job_registry(), concurrency=concurrency)
        runner.start()
        try:
            await asyncio.Event().wait()
        finally:
            await runner.stop()
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
