"""Per-run names for what tests create on shared servers.

Two test runs on one PostgreSQL (two developers, a developer and CI, two helpers) must never drop
each other's databases, so every database a test creates carries this run's id.
"""

from __future__ import annotations

import os
import uuid

RUN_ID = os.environ.get("CHANNELHUB_TEST_RUN_ID") or uuid.uuid4().hex[:10]


def run_name(base: str) -> str:
    """``base`` made unique to this test run (a valid unquoted PostgreSQL identifier)."""
    return f"{base}_{RUN_ID}".lower()
