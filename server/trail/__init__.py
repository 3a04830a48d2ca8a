"""The approval trail: every decision on prices, promotions, quotes, orders, claims and credit
limits, appended to a hash chain whose head is published to dealers (sync scope
``trail:decisions``). Below every deciding domain; reads no other domain's tables.

    note_decision(session, actor, document_type, document_id, outcome, state, comment="")
                                  note a decision; it joins the chain at commit
    install_trail(database)       append noted decisions in every commit (last pre-commit hook)
    TRAIL_SCOPE                   the sync scope every node subscribes to
    verify_trail(session, expected=None) -> Verification   ``channelhub audit verify``
    search_decisions / chain_head                          the HQ API

See ``server.trail.chain`` for the canonical JSON and the hash of an entry.
"""

from server.trail.chain import TRAIL_SCOPE, Actor, content_hash, install_trail, note_decision
from server.trail.queries import DecisionSearch, chain_head, search_decisions
from server.trail.schemas import DocumentType
from server.trail.verify import Verification, verify_trail

__all__ = [
    "TRAIL_SCOPE",
    "Actor",
    "DecisionSearch",
    "DocumentType",
    "Verification",
    "chain_head",
    "content_hash",
    "install_trail",
    "note_decision",
    "search_decisions",
    "verify_trail",
]
