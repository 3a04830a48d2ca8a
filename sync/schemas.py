"""Wire structs of the sync protocol and the principal the server hands in."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = [
    "PROTOCOL_VERSION",
    "SUPPORTED_PROTOCOLS",
    "AckRequest",
    "Change",
    "MutationIn",
    "MutationResult",
    "Op",
    "Poke",
    "PullRequest",
    "PullResult",
    "PushRequest",
    "PushResult",
    "SyncPrincipal",
]

PROTOCOL_VERSION = 1
SUPPORTED_PROTOCOLS = frozenset({1})

Op = Literal["upsert", "delete"]
OutcomeStatus = Literal["applied", "amended", "rejected"]


class SyncPrincipal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is syncing: built by the server from its token on every request or connect."""

    subject_id: str
    dealer_id: str | None
    scopes: frozenset[str]
    client_id: str | None = None
    # The caller's role as the server names it; sync only hands it to mutation handlers.
    role: str | None = None


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """One published change; ``data`` is the payload as JSON bytes (None for deletes)."""

    scope: str
    version: int
    entity: str
    key: str
    op: Op
    data: msgspec.Raw | None


class PullRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """Body of ``POST /sync/pull``."""

    cursor: dict[str, int] = msgspec.field(default_factory=dict[str, int])
    limit: int | None = None
    protocol: int | None = None
    client_id: str | None = None


class PullResult(msgspec.Struct, kw_only=True, rename="camel"):
    """Answer of a pull: changes in version order per scope, the new cursor and the resets."""

    changes: list[Change]
    cursor: dict[str, int]
    has_more: bool
    # Scopes whose local state the client must drop before applying this answer's changes.
    resets: list[str]
    # Scopes the principal lost: drop their state and cursor.
    dropped: list[str]
    protocol: int = PROTOCOL_VERSION


class MutationIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """One queued client mutation."""

    mid: int
    name: str
    args: Any = None
    business_key: str | None = None


class PushRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """Body of ``POST /sync/push``: a client's queued mutations, in mid order."""

    client_id: str
    mutations: list[MutationIn]
    protocol: int | None = None


class MutationResult(msgspec.Struct, kw_only=True, rename="camel"):
    """The one outcome of one mutation (stored; a replay returns the same)."""

    mid: int
    status: OutcomeStatus
    reason: str | None = None
    detail: Any = None
    replayed: bool = False


class PushResult(msgspec.Struct, kw_only=True, rename="camel"):
    """Answer of a push: one result per mutation, in request order."""

    results: list[MutationResult]
    upgrade_required: bool = False
    protocol: int = PROTOCOL_VERSION


class AckRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """Body of ``POST /sync/ack``: the cursor the node has applied."""

    client_id: str
    cursor: dict[str, int]
    protocol: int | None = None


class Poke(msgspec.Struct, frozen=True, kw_only=True, tag="poke", tag_field="type"):
    """Realtime hint: ``scope`` has reached ``version``; pull to catch up."""

    scope: str
    version: int
