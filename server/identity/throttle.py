"""Login rate limiting on a Litestar store: memory in one process, Redis across processes."""

from __future__ import annotations

from litestar.stores.base import Store

from server.errors import TooManyRequests


class LoginThrottle:
    """Counts failed logins per username and per client address within a window."""

    def __init__(self, store: Store, max_attempts: int, window_seconds: int) -> None:
        self.store = store
        self.max_attempts = max_attempts
        self.window_seconds = window_seconds

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
        for key in self._keys(username, address):
            count = await self._count(key)
            await self.store.set(key, str(count + 1).encode(), expires_in=self.window_seconds)

    async def succeeded(self, username: str, address: str) -> None:
        await self.store.delete(self._keys(username, address)[0])

    async def _count(self, key: str) -> int:
        raw = await self.store.get(key)
        return int(raw) if raw else 0
