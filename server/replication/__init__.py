"""The server's side of sync: who subscribes to which scopes, what domains publish, HQ's
delivery views and webhook administration. The engine itself is the ``sync`` package.

The top layer of the server's domains: it reads every publishing domain; only the
composition root (``server.app``, ``server.cli``) and the console import it.

    scopes_for(session, principal) -> frozenset[str]
    dealer_scope(dealer_id) / stock_scope(warehouse_code) -> str
    publish_pending(session)                  every domain's noted changes, before commit
    pause_webhook / resume_webhook / remove_webhook / replay_delivery(session, actor, id)
                                              audited webhook administration (API and console)
"""

from server.replication.publications import publish_pending
from server.replication.scopes import dealer_scope, scopes_for, stock_scope
from server.replication.webhooks import (
    pause_webhook,
    remove_webhook,
    replay_delivery,
    resume_webhook,
)

__all__ = [
    "dealer_scope",
    "pause_webhook",
    "publish_pending",
    "remove_webhook",
    "replay_delivery",
    "resume_webhook",
    "scopes_for",
    "stock_scope",
]
