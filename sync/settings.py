"""Settings of the sync package (the server builds them from its own settings)."""

from __future__ import annotations

import msgspec

__all__ = ["SyncSettings"]


class SyncSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Limits and timings of the sync endpoints and realtime hub."""

    # None: in-process fan-out; "redis://host:6379/0": Redis pub/sub across API processes.
    redis_url: str | None = None
    pull_limit_default: int = 500
    pull_limit_max: int = 2000
    push_max_mutations: int = 200
    heartbeat_interval: float = 25.0
    send_timeout: float = 5.0
    # Advertised to clients: how often to pull when no realtime connection is up.
    poll_interval: float = 60.0
