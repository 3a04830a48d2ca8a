"""Background jobs: a transactional outbox table and the runner that leases and runs them.

enqueue(session, kind, payload, ...)      in the caller's transaction
JobRegistry                               each domain registers its handlers
JobRunner                                 in-process or ``channelhub worker``
"""

from server.jobs.queue import JobRegistry, JobRunner, enqueue

__all__ = ["JobRegistry", "JobRunner", "enqueue"]
