"""Offline-first replication for channel nodes: change feed, pull, push, realtime pokes.

Domain-agnostic: domains register the entities they publish and the mutations they accept.
"""

from sync.compaction import compact
from sync.delivery import (
    NodeLag,
    PublicationStatus,
    ScopeHead,
    latest_publications,
    node_dealers,
    node_lags,
    publication_status,
    record_ack,
)
from sync.errors import (
    SyncBadRequest,
    SyncConflict,
    SyncError,
    SyncForbidden,
    SyncInvalid,
    SyncNotFound,
    SyncUnauthorized,
    SyncUnavailable,
    SyncUnsupportedMedia,
    SyncUpgradeRequired,
    sync_exception_handler,
)
from sync.feed import (
    Publisher,
    discard_pokes,
    pending_pokes,
    publish,
    publish_changes,
    publish_many,
    scope_versions,
    take_pokes,
)
from sync.http import create_sync_router
from sync.hub import SLOW_CONSUMER_CLOSE, Hub, InProcessPokeBackend, RedisPokeBackend
from sync.pull import pull
from sync.push import dealer_scope, push
from sync.registry import (
    Amended,
    Applied,
    MutationContext,
    MutationRegistry,
    MutationRejected,
    Outcome,
    PublicationRegistry,
    Rejected,
)
from sync.schemas import (
    PROTOCOL_VERSION,
    Change,
    MutationIn,
    MutationResult,
    Op,
    PullRequest,
    PullResult,
    PushRequest,
    PushResult,
    SyncPrincipal,
)
from sync.settings import SyncSettings
from sync.tables import metadata
from sync.webhooks import (
    WebhookPolicy,
    deliver_due_webhooks,
    register_webhook,
    replay_webhook_delivery,
    sign_webhook,
)

__all__ = [
    "PROTOCOL_VERSION",
    "SLOW_CONSUMER_CLOSE",
    "Amended",
    "Applied",
    "Change",
    "Hub",
    "InProcessPokeBackend",
    "MutationContext",
    "MutationIn",
    "MutationRegistry",
    "MutationRejected",
    "MutationResult",
    "NodeLag",
    "Op",
    "Outcome",
    "PublicationRegistry",
    "PublicationStatus",
    "Publisher",
    "PullRequest",
    "PullResult",
    "PushRequest",
    "PushResult",
    "RedisPokeBackend",
    "Rejected",
    "ScopeHead",
    "SyncBadRequest",
    "SyncConflict",
    "SyncError",
    "SyncForbidden",
    "SyncInvalid",
    "SyncNotFound",
    "SyncPrincipal",
    "SyncSettings",
    "SyncUnauthorized",
    "SyncUnavailable",
    "SyncUnsupportedMedia",
    "SyncUpgradeRequired",
    "WebhookPolicy",
    "compact",
    "create_sync_router",
    "dealer_scope",
    "deliver_due_webhooks",
    "discard_pokes",
    "latest_publications",
    "metadata",
    "node_dealers",
    "node_lags",
    "pending_pokes",
    "publication_status",
    "publish",
    "publish_changes",
    "publish_many",
    "pull",
    "push",
    "record_ack",
    "register_webhook",
    "replay_webhook_delivery",
    "scope_versions",
    "sign_webhook",
    "sync_exception_handler",
    "take_pokes",
]
