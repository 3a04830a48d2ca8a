"""The fault suite's services and processes, and its figures at the end of the run."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

import pytest

from tests.conftest import unavailable
from tests.faults.cluster import FIGURES, Cluster
from tests.faults.services import ThrowawayPostgres, ThrowawayRedis


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """PostgreSQL, Redis, two replicas of ``channelhub serve`` (workers per test)."""
    if not ThrowawayPostgres.available():
        unavailable("PostgreSQL server binaries", "no initdb and pg_ctl in /usr/lib/postgresql")
    if not ThrowawayRedis.available():
        unavailable("redis-server", "not installed")
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    restore = _close_on_sigterm(cluster)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()
        restore()


def _close_on_sigterm(cluster: Cluster) -> Callable[[], None]:
    """A run ended by SIGTERM (a CI timeout) still ends the cluster's processes."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM) or signal.SIG_DFL

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        cluster.close()
        signal.signal(signal.SIGTERM, previous)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, on_sigterm)
    return lambda: signal.signal(signal.SIGTERM, previous)


@pytest.fixture
def healthy(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster with every service up; whatever a test stopped or started is undone after."""
    yield cluster
    for worker in cluster.workers:
        worker.end()
    cluster.workers.clear()
    if not cluster.pg.running():
        cluster.pg.start()
    assert cluster.redis is not None
    if cluster.redis.process is None:
        cluster.redis.start()
    cluster.wait_all_ready(60)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per fault case, with its figures."""
    if FIGURES:
        terminalreporter.section("fault figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
