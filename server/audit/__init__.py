"""Audit trail: who did what to which entity, recorded in the caller's transaction.

The lowest domain: every other domain may call ``record``; audit imports none of them.
``search_audit(session, AuditSearch(...), cursor=, limit=)`` reads the trail (the console).
"""

from server.audit.service import Actor, AuditEntry, AuditSearch, record, search_audit

__all__ = ["Actor", "AuditEntry", "AuditSearch", "record", "search_audit"]
