"""The docs page loads every script, style and icon from the app itself, never from a CDN."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient


class _References(HTMLParser):
    """Every URL an HTML page makes the browser load (src, href)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        del tag
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def _references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    # Scripts can fetch too: any absolute URL written into the page counts.
    return parser.urls + re.findall(r"""["'(]((?:https?:)?//[^"')\s]+)""", html)


async def test_docs_page_references_no_other_host(client: AsyncTestClient[Litestar]) -> None:
    page = await client.get("/docs", follow_redirects=True)
    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text
    urls = _references(page.text)
    assert len(urls) >= 3, urls  # the bundle, the preset, the stylesheet
    for url in urls:
        parts = urlsplit(url)
        assert not parts.netloc, f"the docs page loads {url} from another host"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0


async def test_the_assets_reference_no_other_host_at_load(
    client: AsyncTestClient[Litestar],
) -> None:
    page = await client.get("/docs", follow_redirects=True)
    css = [u for u in _references(page.text) if u.endswith(".css")]
    assert css
    for url in css:
        stylesheet = (await client.get(url)).text
        # Fonts and images a stylesheet pulls in come from the same place, or are inline.
        for found in re.findall(r"url\(([^)]+)\)", stylesheet):
            target = found.strip("'\"")
            assert target.startswith("data:") or not urlsplit(target).netloc, target
