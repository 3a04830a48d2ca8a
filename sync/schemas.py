"""Wire structs of the sync protocol and the principal the server hands in."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "CONTROL_RULE",
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

# Every string a client sends fits its column and holds no control character (NUL first:
# PostgreSQL cannot store it; C0, DEL, C1 and lone surrogates in all). msgspec applies the
# pattern with re.search: the lookahead anchored at the start sees the whole string.
CONTROL_RULE = r"^(?![\s\S]*[\x00-\x1f\x7f-\x9f\ud800-\udfff])"
INT64_MAX = 2**63 - 1
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=CONTROL_RULE)]
ScopeName = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=CONTROL_RULE)]
# A version a client holds: any 64-bit value is stored safely (a negative one reads as "nothing yet").
Version = Annotated[int, msgspec.Meta(ge=-INT64_MAX - 1, le=INT64_MAX)]
Cursor = Annotated[dict[ScopeName, Version], msgspec.Meta(max_length=10_000)]
MutationName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=CONTROL_RULE)]
BusinessKey = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=CONTROL_RULE)]
Mid = Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)]
ProtocolVersion = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
PullLimit = Annotated[int, msgspec.Meta(ge=1, le=100_000)]

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

    cursor: Cursor = msgspec.field(default_factory=dict[str, int])
    limit: PullLimit | None = None
    protocol: ProtocolVersion | None = None
    client_id: ClientId | None = None


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

    mid: Mid
    name: MutationName
    args: Any = None
    business_key: BusinessKey | None = None


class PushRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """Body of ``POST /sync/push``: a client's queued mutations, in mid order."""

    client_id: ClientId
    mutations: list[MutationIn]
    protocol: ProtocolVersion | None = None


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

    client_id: ClientId
    cursor: Cursor
    protocol: ProtocolVersion | None = None


class Poke(msgspec.Struct, frozen=True, kw_only=True, tag="poke", tag_field="type"):
    """Realtime hint: ``scope`` has reached ``version``; pull to catch up."""

    scope: str
    version: int
