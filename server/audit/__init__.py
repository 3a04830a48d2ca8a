"""Audit trail: who did what to which entity, recorded in the caller's transaction.

The lowest domain: every other domain may call ``record``; audit imports none of them.
"""

from server.audit.service import Actor, record

__all__ = ["Actor", "record"]
