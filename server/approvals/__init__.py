"""Approval chains (审批流): HQ's steps per document type, and each document's run through them.

Low in the domain layers (above the trail and identity): documents' domains call it. Others use:

    steps_scalar(type) / decode_steps(raw) / applicable(steps, facts)   which steps apply
    new_task(...) / start_task(...)                                      start a run
    open_task(session, type, id) -> task | None                          the pending run, locked
    vote(session, actor, task, approve, body, content_hash, now) -> TaskStatus
    latest_task / task_out / votes_of / publish_task                     show where it waits
"""

from server.approvals.flows import applicable, decode_steps, flow_steps, steps_scalar
from server.approvals.models import ApprovalDocument, TaskStatus
from server.approvals.schemas import DecisionIn, Facts, Step
from server.approvals.tasks import (
    close_task,
    latest_task,
    new_task,
    open_task,
    publish_task,
    start_if_applies,
    start_task,
    task_out,
    vote,
    vote_if_pending,
    votes_of,
)

__all__ = [
    "ApprovalDocument",
    "DecisionIn",
    "Facts",
    "Step",
    "TaskStatus",
    "applicable",
    "close_task",
    "decode_steps",
    "flow_steps",
    "latest_task",
    "new_task",
    "open_task",
    "publish_task",
    "start_if_applies",
    "start_task",
    "steps_scalar",
    "task_out",
    "vote",
    "vote_if_pending",
    "votes_of",
]
