"""Login rate limiting on a Litestar store: memory in one process, Redis across processes.

Redis accelerates, it is never a single point of failure: when the shared store cannot be
reached the throttle counts in this process instead (fail open with a local limit, logged),
and returns to the shared store on the next call that reaches it.
"""

from __future__ import annotations

import structlog
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from redis.exceptions import RedisError

from server.errors import TooManyRequests

log = structlog.get_logger("channelhub.identity")
_STORE_DOWN = (RedisError, OSError)


class LoginThrottle:
    """Counts failed logins per username and per client address within a window."""

    def __init__(self, store: Store, max_attempts: int, window_seconds: int) -> None:
        self.store = store
        self.local: Store = store if isinstance(store, MemoryStore) else MemoryStore()
        self.max_attempts = max_attempts
        self.window_seconds = window_seconds
        self.degraded = False

    def _keys(self, username: str, address: str) -> tuple[str, str]:
        return f"login:user:{username.strip().lower()}", f"login:addr:{address}"

    async def check(self, username: str, address: str) -> None:
        """Refuse when either counter reached the limit."""
        for key in self._keys(username, address):
            count = await self._count(key)
            limit = self.max_attempts if key.startswith("login:user") else self.max_attempts * 4
            if count >= limit:
                raise TooManyRequests(
                    "login_throttled",
                    "登录失败次数过多，请稍后再试",
                    "Too many failed logins, try again later",
                    headers={"Retry-After": str(self.window_seconds)},
                )

    async def failed(self, username: str, address: str) -> None:
        """Count one failed login against the username and the address."""
        for key in self._keys(username, address):
            count = await self._count(key)
            value = str(count + 1).encode()
            try:
                await self.store.set(key, value, expires_in=self.window_seconds)
                self._recovered()
            except _STORE_DOWN as exc:
                self._fell_back(exc)
            if self.local is not self.store:  # the process keeps its own count too
                await self.local.set(key, value, expires_in=self.window_seconds)

    async def succeeded(self, username: str, address: str) -> None:
        """Forget the username's failures."""
        key = self._keys(username, address)[0]
        try:
            await self.store.delete(key)
            self._recovered()
        except _STORE_DOWN as exc:
            self._fell_back(exc)
        await self.local.delete(key)

    async def _count(self, key: str) -> int:
        local = await self.local.get(key)
        try:
            raw = await self.store.get(key)
            self._recovered()
        except _STORE_DOWN as exc:
            self._fell_back(exc)
            raw = local
        return int(raw) if raw else 0

    def _fell_back(self, exc: BaseException) -> None:
        if not self.degraded:
            log.warning("login_throttle_local", reason=repr(exc))
        self.degraded = True

    def _recovered(self) -> None:
        if self.degraded:
            log.info("login_throttle_shared_again")
        self.degraded = False
