"""Static assets served by the app under names that carry a hash of their content.

A changed file gets a new name, so browsers may cache every asset for a year; nothing is
fetched from another host (public CDNs are often unreachable in mainland China).
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from litestar import get
from litestar.exceptions import NotFoundException
from litestar.response import Response

from console.params import Code

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = "/console/static"


class Asset:
    """One file: its hashed name, bytes and media type."""

    def __init__(self, path: Path) -> None:
        self.body = path.read_bytes()
        digest = hashlib.sha256(self.body).hexdigest()[:12]
        self.name = f"{path.stem}.{digest}{path.suffix}"
        self.media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"


class AssetCatalog:
    """Every file of ``static/``, by its plain name and by its hashed name."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.by_plain = {p.name: Asset(p) for p in sorted(directory.iterdir()) if p.is_file()}
        self.by_hashed = {a.name: a for a in self.by_plain.values()}

    def url(self, name: str) -> str:
        """The URL of ``name`` (e.g. ``console.css``) with its content hash."""
        return f"{STATIC_PATH}/{self.by_plain[name].name}"


CATALOG = AssetCatalog()


@get("/static/{name:str}", include_in_schema=False, sync_to_thread=False)
def static_asset(name: Code) -> Response[bytes]:
    """A hashed asset, cacheable forever."""
    asset = CATALOG.by_hashed.get(name)
    if asset is None:
        raise NotFoundException()
    return Response(
        asset.body,
        media_type=asset.media_type,
        headers={"cache-control": "public, max-age=31536000, immutable"},
    )
