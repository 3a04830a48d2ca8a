"""What domains register: the mutations they accept and the entities they publish."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias, TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from sync.feed import Publisher
from sync.schemas import SyncPrincipal

__all__ = [
    "Amended",
    "Applied",
    "MutationContext",
    "MutationHandler",
    "MutationRegistry",
    "MutationRejected",
    "Outcome",
    "PublicationRegistry",
    "Rejected",
]


class Applied(msgspec.Struct, frozen=True, kw_only=True):
    """The mutation took effect as sent."""

    detail: Any = None


class Amended(msgspec.Struct, frozen=True, kw_only=True):
    """The mutation took effect with changes the dealer must confirm (price rose, part stock)."""

    reason: str
    detail: Any = None


class Rejected(msgspec.Struct, frozen=True, kw_only=True):
    """The mutation was refused for a business reason; its writes are rolled back."""

    reason: str
    detail: Any = None


Outcome = Applied | Amended | Rejected


class MutationRejected(Exception):
    """Raise from a handler instead of returning ``Rejected`` (same effect)."""

    def __init__(self, reason: str, detail: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class MutationContext:
    """Facts about the mutation being applied that are not its arguments."""

    client_id: str
    mid: int
    business_key: str | None
    now: datetime


T = TypeVar("T")
MutationHandler: TypeAlias = Callable[
    [AsyncSession, SyncPrincipal, T, MutationContext], Awaitable[Outcome]
]


@dataclass(frozen=True, slots=True)
class RegisteredMutation:
    """A mutation name with its argument type and handler."""

    name: str
    args_type: type[Any]
    handler: MutationHandler[Any]


class MutationRegistry:
    """Mutation name -> (argument struct type, async handler)."""

    def __init__(self) -> None:
        self._mutations: dict[str, RegisteredMutation] = {}

    def register(self, name: str, args_type: type[T], handler: MutationHandler[T]) -> None:
        """Accept mutations called ``name`` whose ``args`` convert to ``args_type``."""
        if name in self._mutations:
            raise ValueError(f"mutation {name!r} is already registered")
        self._mutations[name] = RegisteredMutation(name, args_type, handler)

    def mutation(
        self, name: str, args_type: type[T]
    ) -> Callable[[MutationHandler[T]], MutationHandler[T]]:
        """Decorator form of ``register``."""

        def decorate(handler: MutationHandler[T]) -> MutationHandler[T]:
            self.register(name, args_type, handler)
            return handler

        return decorate

    def get(self, name: str) -> RegisteredMutation | None:
        """The registration for ``name``, if any."""
        return self._mutations.get(name)

    def names(self) -> list[str]:
        """Registered mutation names, sorted."""
        return sorted(self._mutations)


class PublicationRegistry:
    """Entity -> the scope prefixes it may be published to."""

    def __init__(self) -> None:
        self._publishers: dict[str, Publisher] = {}

    def register(self, entity: str, scope_prefixes: Iterable[str]) -> Publisher:
        """Declare that ``entity`` is published to scopes starting with ``scope_prefixes``."""
        if entity in self._publishers:
            raise ValueError(f"entity {entity!r} is already registered")
        publisher = Publisher(entity, scope_prefixes)
        self._publishers[entity] = publisher
        return publisher

    def entities(self) -> dict[str, tuple[str, ...]]:
        """Registered entities and their scope prefixes."""
        return {e: p.scope_prefixes for e, p in sorted(self._publishers.items())}
