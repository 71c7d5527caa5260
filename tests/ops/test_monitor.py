"""The health monitor's decisions (fake samples), its process discovery (real processes) and its
webhook delivery (a real local HTTP receiver)."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.alert_receiver import WebhookReceiver

from stellarstream.ops.monitor import AlertNotifier, Monitor, ProcessTable
from stellarstream.ops.monitor_policy import (
    MB,
    Alert,
    Observation,
    Policy,
    Role,
    Sample,
    Terminate,
    Thresholds,
)
from stellarstream.ops.pidfile import GUNICORN_PIDFILE, INDEXER_PIDFILE, write_pidfile

THRESHOLDS = Thresholds(
    worker_max_rss_bytes=500 * MB,
    indexer_max_rss_bytes=300 * MB,
    cpu_percent=90.0,
    cpu_samples=3,
    max_lag_ledgers=100,
    max_checkpoint_age_seconds=600.0,
    alert_repeat_seconds=900.0,
    resignal_after_seconds=60.0,
)


def worker(pid: int, rss_mb: float = 100, cpu: float | None = 1.0) -> Sample:
    return Sample(Role.WORKER, pid, int(rss_mb * MB), cpu)


def observe(*samples: Sample, **fields: object) -> Observation:
    return Observation(tuple(samples), **fields)  # type: ignore[arg-type]


def kinds(actions: list[Alert | Terminate]) -> list[str]:
    return [a.kind if isinstance(a, Alert) else f"terminate:{a.pid}" for a in actions]


def test_healthy_processes_need_nothing() -> None:
    policy = Policy(THRESHOLDS)
    master = Sample(Role.MASTER, 1, 60 * MB, 0.5)
    indexer = Sample(Role.INDEXER, 9, 120 * MB, 3.0)
    assert policy.decide(observe(master, worker(2), worker(3), indexer, lag=5), 0.0) == []


def test_worker_over_its_memory_limit_is_terminated_once_and_reported() -> None:
    policy = Policy(THRESHOLDS)
    actions = policy.decide(observe(worker(2, 501), worker(3, 499)), 0.0)
    assert kinds(actions) == ["terminate:2", "memory"]
    terminate, alert = actions
    assert isinstance(terminate, Terminate) and terminate.role is Role.WORKER
    assert isinstance(alert, Alert) and alert.details == {"rss_mb": 501.0, "limit_mb": 500.0}
    # Still draining its requests at the next sample: not signalled again (a second SIGTERM
    # would make uvicorn drop them) ...
    assert policy.decide(observe(worker(2, 501)), 30.0) == []
    # ... but signalled again if it is still there after the re-signal delay.
    assert kinds(policy.decide(observe(worker(2, 501)), 61.0)) == ["terminate:2", "memory"]


def test_indexer_has_its_own_lower_limit_and_the_master_is_never_killed() -> None:
    policy = Policy(THRESHOLDS)
    indexer = Sample(Role.INDEXER, 9, 301 * MB, 1.0)
    master = Sample(Role.MASTER, 1, 900 * MB, 1.0)
    actions = policy.decide(observe(master, worker(2, 301), indexer), 0.0)
    assert kinds(actions) == ["memory", "terminate:9", "memory"]
    assert not any(isinstance(a, Terminate) and a.pid == 1 for a in actions)


def test_cpu_alert_needs_consecutive_samples_and_is_not_repeated_until_it_clears() -> None:
    policy = Policy(THRESHOLDS)
    assert policy.decide(observe(worker(2, cpu=None)), 0) == []  # first sight: no CPU figure
    assert policy.decide(observe(worker(2, cpu=95)), 1) == []
    assert policy.decide(observe(worker(2, cpu=99)), 2) == []
    assert policy.decide(observe(worker(2, cpu=50)), 3) == []  # streak broken
    assert policy.decide(observe(worker(2, cpu=95)), 4) == []
    assert policy.decide(observe(worker(2, cpu=95)), 5) == []
    alert = policy.decide(observe(worker(2, cpu=97)), 6)
    assert kinds(alert) == ["cpu"]
    assert isinstance(alert[0], Alert) and alert[0].pid == 2 and alert[0].details["samples"] == 3
    assert policy.decide(observe(worker(2, cpu=97)), 7) == []  # same episode: once
    assert kinds(policy.decide(observe(worker(2, cpu=97)), 7 + 900)) == ["cpu"]  # reminder
    assert policy.decide(observe(worker(2, cpu=10)), 1000) == []  # cleared
    for t in (1001, 1002):
        assert policy.decide(observe(worker(2, cpu=95)), t) == []
    assert kinds(policy.decide(observe(worker(2, cpu=95)), 1003)) == ["cpu"]  # a new episode


def test_missing_and_zombie_processes_raise_alerts() -> None:
    policy = Policy(THRESHOLDS)
    zombie = Sample(Role.WORKER, 4, 0, None, zombie=True)
    actions = policy.decide(observe(zombie, missing=(Role.INDEXER,)), 0)
    assert kinds(actions) == ["missing", "zombie"]
    assert all(isinstance(a, Alert) and a.severity == "critical" for a in actions)
    assert policy.decide(observe(zombie, missing=(Role.INDEXER,)), 10) == []
    assert policy.decide(observe(), 20) == []  # back
    assert kinds(policy.decide(observe(missing=(Role.INDEXER,)), 30)) == ["missing"]


def test_lag_stalled_checkpoint_and_database_errors_alert() -> None:
    policy = Policy(THRESHOLDS)
    assert policy.decide(observe(lag=100, checkpoint_age=600.0), 0) == []  # at the limits: fine
    actions = policy.decide(observe(lag=101, checkpoint_age=601.0), 1)
    assert kinds(actions) == ["lag", "stalled"]
    assert kinds(policy.decide(observe(database_error="OperationalError"), 2)) == ["database"]


def test_repeat_zero_means_report_once_per_episode() -> None:
    thresholds = dataclasses.replace(THRESHOLDS, alert_repeat_seconds=0.0)
    policy = Policy(thresholds)
    assert kinds(policy.decide(observe(lag=500), 0)) == ["lag"]
    assert policy.decide(observe(lag=500), 10_000) == []


class FakeTable(ProcessTable):
    def __init__(self, samples: list[Sample]) -> None:
        self.samples = samples

    def observe(self) -> tuple[list[Sample], list[Role]]:
        return self.samples, []


def test_a_tick_signals_and_notifies(tmp_path: Path) -> None:
    sent: list[tuple[int, int]] = []
    notifier = RecordingNotifier()
    monitor = Monitor(
        table=FakeTable([worker(2, 900), worker(3, 10)]),
        policy=Policy(THRESHOLDS),
        notifier=notifier,
        engine=None,
        kill=lambda pid, sig: sent.append((pid, sig)),
    )
    monitor.tick()
    assert sent == [(2, signal.SIGTERM)]
    assert [a.kind for a in notifier.alerts] == ["memory"]


class RecordingNotifier(AlertNotifier):
    def __init__(self) -> None:
        super().__init__(None)
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


# --- process discovery with real processes -------------------------------------------------------

FAKE_MASTER = """
import subprocess, sys, time
sleep = [sys.executable, "-c", "import time; time.sleep(60)"]
children = [subprocess.Popen(sleep) for _ in range(2)]
print("ready", flush=True)
try:
    time.sleep(60)
finally:
    for c in children:
        c.kill()
"""


@pytest.fixture
def fake_gunicorn(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A process with two children, like a gunicorn master and its workers."""
    proc = subprocess.Popen([sys.executable, "-c", FAKE_MASTER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    yield proc
    proc.terminate()
    proc.wait(10)


def test_process_table_finds_master_workers_and_indexer_by_pid_file(
    tmp_path: Path, fake_gunicorn: subprocess.Popen[str]
) -> None:
    var = tmp_path / "var"
    write_pidfile(var / GUNICORN_PIDFILE, fake_gunicorn.pid)
    write_pidfile(var / INDEXER_PIDFILE)  # this test process plays the indexer
    table = ProcessTable(var)
    samples, missing = table.observe()
    assert missing == []
    roles = sorted((s.role.value, s.pid == fake_gunicorn.pid) for s in samples)
    assert roles == [
        ("api-master", True),
        ("api-worker", False),
        ("api-worker", False),
        ("indexer", False),
    ]
    assert all(s.rss_bytes > 1 * MB and s.cpu_percent is None for s in samples)
    time.sleep(0.1)
    again, _ = table.observe()
    assert {s.pid for s in again} == {s.pid for s in samples}
    assert all(s.cpu_percent is not None for s in again)  # measured since the first sample


def test_missing_stale_and_absent_pid_files_are_missing(tmp_path: Path) -> None:
    var = tmp_path / "var"
    table = ProcessTable(var)
    assert table.observe() == ([], [Role.MASTER, Role.INDEXER])
    # A pid file older than the process now holding that pid: the pid was reused.
    write_pidfile(var / GUNICORN_PIDFILE, os.getpid())
    old = time.time() - 10 * 365 * 86400
    os.utime(var / GUNICORN_PIDFILE, (old, old))
    (var / INDEXER_PIDFILE).write_text("not a pid\n")
    assert table.observe() == ([], [Role.MASTER, Role.INDEXER])
    # Only what is watched.
    assert ProcessTable(var, api=False, indexer=False).observe() == ([], [])


# --- webhook delivery ----------------------------------------------------------------------------


def test_alert_is_posted_and_retried_until_the_receiver_accepts_it() -> None:
    with WebhookReceiver(fail_first=2) as receiver:
        notifier = AlertNotifier(receiver.url, retries=3, backoff=0.05, host="host-1")
        notifier.send(Alert("cpu", "warning", "api-worker 7 at 99% CPU", Role.WORKER, 7))
        notifier.close(timeout=10)
        assert notifier.delivered == 1 and notifier.failed == 0
        assert receiver.attempts == 3
        (payload,) = receiver.accepted
    assert payload["kind"] == "cpu" and payload["pid"] == 7 and payload["role"] == "api-worker"
    assert payload["host"] == "host-1" and payload["source"] == "stellarstream-monitor"


def test_undeliverable_alerts_give_up_after_the_retries_without_blocking() -> None:
    notifier = AlertNotifier("http://127.0.0.1:9/hook", retries=2, backoff=0.01, timeout=0.5)
    started = time.monotonic()
    notifier.send(Alert("lag", "warning", "behind"))
    assert time.monotonic() - started < 0.5  # sent from a background thread
    notifier.close(timeout=10)
    assert (notifier.delivered, notifier.failed) == (0, 1)


def test_a_client_error_is_not_retried() -> None:
    with WebhookReceiver(status=400) as receiver:
        notifier = AlertNotifier(receiver.url, retries=3, backoff=0.01)
        notifier.send(Alert("lag", "warning", "behind"))
        notifier.close(timeout=10)
        assert receiver.attempts == 1 and notifier.failed == 1


def test_lag_and_checkpoint_age_come_from_the_database(database_url: str) -> None:
    from tests.support import contract_events as ce
    from tests.support.chain_data import stream_history
    from tests.support.seed import ingest_events

    from stellarstream.db.engine import make_engine

    events = stream_history(2)
    top = max(e.ledger for e in events)
    engine = make_engine(database_url)
    monitor = Monitor(
        table=FakeTable([]), policy=Policy(THRESHOLDS), notifier=RecordingNotifier(), engine=engine
    )
    assert (monitor.observe().lag, monitor.observe().checkpoint_age) == (None, None)
    ingest_events(database_url, events, [ce.V2_CONTRACT], latest_ledger=top + 250)
    observation = monitor.observe()
    assert observation.lag == 250 and observation.database_error is None
    assert observation.checkpoint_age is not None and 0 <= observation.checkpoint_age < 60
    assert kinds(Policy(THRESHOLDS).decide(observation, 0)) == ["lag"]
    engine.dispose()
    broken = Monitor(
        table=FakeTable([]),
        policy=Policy(THRESHOLDS),
        notifier=RecordingNotifier(),
        engine=make_engine("postgresql+psycopg://postgres@127.0.0.1:9/unreachable"),
    )
    assert broken.observe().database_error is not None
