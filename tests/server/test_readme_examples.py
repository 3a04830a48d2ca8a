"""The README's curl examples run against the app: a small parser turns each into a request."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.db.engine import Database
from server.identity.models import Role
from tests.factories import make_user

README = Path(__file__).resolve().parents[2] / "README.md"


def curl_commands() -> list[list[str]]:
    """Every curl command of the README's shell blocks, as argument lists."""
    commands: list[list[str]] = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), re.DOTALL):
        text = block.replace("\\\n", " ")
        commands += [shlex.split(found) for found in re.findall(r"curl [^|)\n]*", text)]
    return commands


def to_request(args: list[str], token: str) -> tuple[str, str, dict[str, str], str | None]:
    """(method, path, headers, body) of one curl command; ``$TOKEN`` is the login's token."""
    method, headers, body, url = "GET", {}, None, ""
    words = iter(args[1:])
    for word in words:
        if word.startswith("-X"):
            method = word[2:] or next(words)
        elif word == "-H":
            name, _, value = next(words).partition(":")
            headers[name.strip()] = value.strip().replace("$TOKEN", token)
        elif word == "-d":
            body = next(words)
            method = "POST" if method == "GET" else method
        elif not word.startswith("-"):
            url = word
    return method, urlsplit(f"http://{url}").path, headers, body


async def test_the_readme_curl_examples_answer_as_shown(
    client: AsyncTestClient[Litestar], db: Database
) -> None:
    await make_user(db, Role.HQ_ADMIN, username="hq", password="channelhub-demo")
    commands = curl_commands()
    assert len(commands) >= 2
    token = ""
    for args in commands:
        method, path, headers, body = to_request(args, token)
        response = await client.request(
            method, path, headers=headers, content=body.encode() if body else None
        )
        assert response.status_code in (200, 201), (args, response.text)
        if path == "/auth/login":
            token = response.json()["accessToken"]  # what the README's python3 -c reads
    assert token
