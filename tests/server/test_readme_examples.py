"""The README's curl examples run against the app with the demo data: a small parser turns
each into a request, and ``NAME=$(curl …/auth/login …)`` keeps the token for ``$NAME``."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.demo import seed
from server.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


Command = tuple[str | None, list[str]]


def curl_commands() -> list[Command]:
    """Every curl command of the README's shell blocks: the variable its output is assigned
    to (``TOKEN=$(curl …)``), if any, and its argument list."""
    commands: list[Command] = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), re.DOTALL):
        text = block.replace("\\\n", " ")
        for variable, found in re.findall(r"(?:(\w+)=\$\()?(curl [^|)\n]*)", text):
            commands.append((variable or None, shlex.split(found)))
    return commands


def to_request(
    args: list[str], tokens: dict[str, str]
) -> tuple[str, str, dict[str, str], str | None]:
    """(method, path, headers, body) of one curl command; ``$NAME`` is that login's token."""
    method, headers, body, url = "GET", {}, None, ""
    words = iter(args[1:])
    for word in words:
        if word.startswith("-X"):
            method = word[2:] or next(words)
        elif word == "-H":
            name, _, value = next(words).partition(":")
            for variable, token in tokens.items():
                value = value.replace(f"${variable}", token)
            headers[name.strip()] = value.strip()
        elif word == "-d":
            body = next(words)
            method = "POST" if method == "GET" else method
        elif not word.startswith("-"):
            url = word
    return method, urlsplit(f"http://{url}").path, headers, body


async def test_the_readme_curl_examples_answer_as_shown(
    client: AsyncTestClient[Litestar], settings: Settings
) -> None:
    await seed(settings, "channelhub-demo")
    commands = curl_commands()
    assert len(commands) >= 4
    tokens: dict[str, str] = {}
    for variable, args in commands:
        method, path, headers, body = to_request(args, tokens)
        assert "$" not in str(headers), (args, "a variable no login defined")
        response = await client.request(
            method, path, headers=headers, content=body.encode() if body else None
        )
        assert response.status_code in (200, 201), (args, response.text)
        if variable is not None:
            assert path == "/auth/login", args
            tokens[variable] = response.json()["accessToken"]  # what the README's python3 -c reads
    assert set(tokens) >= {"TOKEN", "DEALER"}
