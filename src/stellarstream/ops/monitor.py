"""The health monitor (``stellarstream monitor``): watch the API and the indexer, heal, alert.

Every ``STELLARSTREAM_MONITOR_INTERVAL_SECONDS`` (30) it samples, with psutil, the RSS and CPU of
the gunicorn master (``var/gunicorn.pid``), each of its workers (the master's children) and the
indexer (``var/indexer.pid``) - found through pid files and the process tree, never by name - and
reads the indexer's lag from the database. Then:

* a worker over ``MONITOR_WORKER_MAX_RSS_MB`` (500) gets SIGTERM: gunicorn finishes its requests
  and starts a fresh worker in its place;
* the indexer over ``MONITOR_INDEXER_MAX_RSS_MB`` (300) gets SIGTERM: it stops after the batch in
  hand and PM2 (or systemd) starts it again from its checkpoint;
* CPU over ``MONITOR_CPU_PERCENT`` (90, of one core) for ``MONITOR_CPU_SAMPLES`` (3) samples in a
  row, a missing or zombie process, lag over ``MAX_LAG_LEDGERS`` or a checkpoint older than
  ``MONITOR_MAX_CHECKPOINT_AGE_SECONDS`` raise an alert: a JSON log line ``"event": "alert"``
  and, with ``ALERT_WEBHOOK_URL``, a JSON POST (retried with back-off, sent off the sampling
  loop). A condition that persists is reported again every ``MONITOR_ALERT_REPEAT_SECONDS``.

The decisions (:class:`Policy`) are a pure function of the samples and the policy's memory, so
they are tested without processes; :class:`ProcessTable` and :class:`Monitor` do the I/O.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]
import structlog
from sqlalchemy import Engine

from stellarstream.config import Settings
from stellarstream.ops.lag import contract_lags, max_lag
from stellarstream.ops.pidfile import GUNICORN_PIDFILE, INDEXER_PIDFILE, process_from_pidfile
from stellarstream.retry import Backoff

log = structlog.get_logger("stellarstream.monitor")

MB = 1024 * 1024


class Role(StrEnum):
    MASTER = "api-master"
    WORKER = "api-worker"
    INDEXER = "indexer"


@dataclass(frozen=True, slots=True)
class Sample:
    role: Role
    pid: int
    rss_bytes: int
    cpu_percent: float | None
    """Percent of one core since the previous sample; ``None`` for a process seen the first time."""
    zombie: bool = False


@dataclass(frozen=True, slots=True)
class Observation:
    samples: tuple[Sample, ...]
    missing: tuple[Role, ...] = ()
    lag: int | None = None
    checkpoint_age: float | None = None
    """Seconds since the oldest live checkpoint was written (``None``: no checkpoint)."""
    database_error: str | None = None


@dataclass(frozen=True, slots=True)
class Thresholds:
    worker_max_rss_bytes: int
    indexer_max_rss_bytes: int
    cpu_percent: float
    cpu_samples: int
    max_lag_ledgers: int
    max_checkpoint_age_seconds: float
    alert_repeat_seconds: float
    resignal_after_seconds: float = 60.0
    """A process already sent SIGTERM is left to finish for this long before being signalled
    again (a second SIGTERM would make uvicorn drop in-flight requests)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            worker_max_rss_bytes=int(settings.monitor_worker_max_rss_mb * MB),
            indexer_max_rss_bytes=int(settings.monitor_indexer_max_rss_mb * MB),
            cpu_percent=settings.monitor_cpu_percent,
            cpu_samples=settings.monitor_cpu_samples,
            max_lag_ledgers=settings.max_lag_ledgers,
            max_checkpoint_age_seconds=settings.monitor_max_checkpoint_age_seconds,
            alert_repeat_seconds=settings.monitor_alert_repeat_seconds,
        )


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    """memory, cpu, missing, zombie, lag, stalled or database."""
    severity: str
    message: str
    role: Role | None = None
    pid: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Terminate:
    """SIGTERM ``pid``: its supervisor (gunicorn, PM2, systemd) starts a replacement."""

    role: Role
    pid: int
    reason: str


Action = Alert | Terminate


class Policy:
    """Decides what to do about an observation; remembers CPU streaks, alerts and signals."""

    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self._cpu_streak: dict[int, int] = {}
        self._alerted: dict[tuple[Any, ...], float] = {}
        self._signalled: dict[int, float] = {}

    def decide(self, observation: Observation, now: float) -> list[Action]:
        t = self.thresholds
        actions: list[Action] = []
        active: set[tuple[Any, ...]] = set()

        def alert(key: tuple[Any, ...], made: Alert) -> None:
            active.add(key)
            last = self._alerted.get(key)
            if last is None or (
                t.alert_repeat_seconds > 0 and now - last >= t.alert_repeat_seconds
            ):
                self._alerted[key] = now
                actions.append(made)

        for role in observation.missing:
            alert(
                ("missing", role),
                Alert(
                    "missing", "critical", f"{role} is not running (pid file has no live process)"
                ),
            )

        for s in observation.samples:
            if s.zombie:
                alert(
                    ("zombie", s.role, s.pid),
                    Alert("zombie", "critical", f"{s.role} {s.pid} is a zombie", s.role, s.pid),
                )
                continue
            self._memory(s, now, actions, alert)
            self._cpu(s, alert)

        if observation.lag is not None and observation.lag > t.max_lag_ledgers:
            alert(
                ("lag",),
                Alert(
                    "lag",
                    "warning",
                    f"indexer is {observation.lag} ledgers behind the network "
                    f"(limit {t.max_lag_ledgers})",
                    details={"lag_ledgers": observation.lag, "limit": t.max_lag_ledgers},
                ),
            )
        age = observation.checkpoint_age
        if age is not None and age > t.max_checkpoint_age_seconds:
            alert(
                ("stalled",),
                Alert(
                    "stalled",
                    "critical",
                    f"indexer checkpoint not advanced for {age:.0f} s "
                    f"(limit {t.max_checkpoint_age_seconds:g} s)",
                    details={"checkpoint_age_seconds": round(age, 1)},
                ),
            )
        if observation.database_error is not None:
            alert(
                ("database",),
                Alert(
                    "database",
                    "critical",
                    f"cannot read the indexer's position: {observation.database_error}",
                ),
            )

        live = {s.pid for s in observation.samples}
        self._cpu_streak = {p: n for p, n in self._cpu_streak.items() if p in live}
        self._signalled = {p: at for p, at in self._signalled.items() if p in live}
        self._alerted = {k: at for k, at in self._alerted.items() if k in active}
        return actions

    def _memory(
        self,
        s: Sample,
        now: float,
        actions: list[Action],
        alert: Callable[[tuple[Any, ...], Alert], None],
    ) -> None:
        t = self.thresholds
        limit = t.indexer_max_rss_bytes if s.role is Role.INDEXER else t.worker_max_rss_bytes
        if s.rss_bytes <= limit:
            return
        details = {"rss_mb": round(s.rss_bytes / MB, 1), "limit_mb": round(limit / MB, 1)}
        if s.role is Role.MASTER:  # never killed from here: that would drop every worker
            alert(
                ("memory", s.role, s.pid),
                Alert(
                    "memory",
                    "warning",
                    f"gunicorn master {s.pid} uses {details['rss_mb']} MB",
                    s.role,
                    s.pid,
                    details,
                ),
            )
            return
        last = self._signalled.get(s.pid)
        if last is not None and now - last < t.resignal_after_seconds:
            return  # already told to stop; give it time to finish in-flight work
        self._signalled[s.pid] = now
        reason = f"RSS {details['rss_mb']} MB over {details['limit_mb']} MB"
        actions.append(Terminate(s.role, s.pid, reason))
        actions.append(
            Alert(
                "memory",
                "warning",
                f"{s.role} {s.pid}: {reason}; sent SIGTERM (its supervisor replaces it)",
                s.role,
                s.pid,
                details,
            )
        )

    def _cpu(self, s: Sample, alert: Callable[[tuple[Any, ...], Alert], None]) -> None:
        t = self.thresholds
        if s.cpu_percent is None:
            return
        streak = self._cpu_streak.get(s.pid, 0) + 1 if s.cpu_percent > t.cpu_percent else 0
        self._cpu_streak[s.pid] = streak
        if streak >= t.cpu_samples:
            alert(
                ("cpu", s.role, s.pid),
                Alert(
                    "cpu",
                    "warning",
                    f"{s.role} {s.pid} at {s.cpu_percent:.0f}% CPU for {streak} samples in a row "
                    f"(limit {t.cpu_percent:g}%)",
                    s.role,
                    s.pid,
                    {"cpu_percent": round(s.cpu_percent, 1), "samples": streak},
                ),
            )


class ProcessTable:
    """Finds the watched processes through pid files and samples them with psutil."""

    def __init__(self, var_dir: Path, *, api: bool = True, indexer: bool = True) -> None:
        self._var = var_dir
        self._api = api
        self._indexer = indexer
        self._known: dict[int, psutil.Process] = {}

    def observe(self) -> tuple[list[Sample], list[Role]]:
        found: list[tuple[Role, psutil.Process]] = []
        missing: list[Role] = []
        if self._api:
            master = process_from_pidfile(self._var / GUNICORN_PIDFILE)
            if master is None:
                missing.append(Role.MASTER)
            else:
                found.append((Role.MASTER, master))
                with contextlib.suppress(psutil.Error):  # exited since: reported next time
                    found += [(Role.WORKER, child) for child in master.children()]
        if self._indexer:
            indexer = process_from_pidfile(self._var / INDEXER_PIDFILE)
            if indexer is None:
                missing.append(Role.INDEXER)
            else:
                found.append((Role.INDEXER, indexer))

        samples: list[Sample] = []
        known: dict[int, psutil.Process] = {}
        for role, process in found:
            sample, kept = self._sample(role, process)
            if sample is None:
                if role is not Role.WORKER:
                    missing.append(role)
                continue
            samples.append(sample)
            known[process.pid] = kept
        self._known = known
        return samples, missing

    def _sample(self, role: Role, process: psutil.Process) -> tuple[Sample | None, psutil.Process]:
        previous = self._known.get(process.pid)
        # Reuse the Process seen last time (cpu_percent measures since its previous call).
        same = previous is not None and previous.create_time() == process.create_time()
        current = previous if same and previous is not None else process
        try:
            with current.oneshot():
                if current.status() == psutil.STATUS_ZOMBIE:
                    return Sample(role, current.pid, 0, None, zombie=True), current
                rss = current.memory_info().rss
                cpu = current.cpu_percent(None)
        except psutil.ZombieProcess:
            return Sample(role, current.pid, 0, None, zombie=True), current
        except psutil.Error:
            return None, current
        return Sample(role, current.pid, rss, cpu if same else None), current


class AlertNotifier:
    """Logs every alert; POSTs it to the webhook from a background thread, with retries."""

    def __init__(
        self,
        webhook_url: str | None,
        *,
        retries: int = 3,
        timeout: float = 5.0,
        backoff: float = 1.0,
        host: str | None = None,
    ) -> None:
        self._url = webhook_url or None
        self._retries = retries
        self._timeout = timeout
        self._backoff = Backoff(base=backoff, retries=retries)
        self._host = host or socket.gethostname()
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=1000)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0
        self.failed = 0

    def send(self, alert: Alert) -> None:
        log.warning(
            "alert",
            kind=alert.kind,
            severity=alert.severity,
            message=alert.message,
            role=alert.role.value if alert.role else None,
            pid=alert.pid,
            **dict(alert.details),
        )
        if self._url is None:
            return
        payload = {
            "source": "stellarstream-monitor",
            "host": self._host,
            "at": datetime.now(UTC).isoformat(),
            "kind": alert.kind,
            "severity": alert.severity,
            "message": alert.message,
            "role": alert.role.value if alert.role else None,
            "pid": alert.pid,
            "details": dict(alert.details),
        }
        if self._thread is None:
            self._thread = threading.Thread(target=self._deliver_all, name="alerts", daemon=True)
            self._thread.start()
        try:
            self._queue.put_nowait(payload)
        except queue.Full:
            log.error("alert_dropped", kind=alert.kind, reason="webhook queue full")

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (up to ``timeout`` seconds), then stop."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._stop.set()

    def _deliver_all(self) -> None:
        assert self._url is not None
        with httpx.Client(timeout=self._timeout) as client:
            while (payload := self._queue.get()) is not None:
                self._deliver(client, self._url, payload)

    def _deliver(self, client: httpx.Client, url: str, payload: dict[str, Any]) -> None:
        error = ""
        for attempt in range(self._retries + 1):
            try:
                response = client.post(url, json=payload)
                if response.status_code < 300:
                    self.delivered += 1
                    log.info("alert_delivered", kind=payload["kind"], attempt=attempt + 1)
                    return
                error = f"HTTP {response.status_code}"
                if 400 <= response.status_code < 500 and response.status_code != 429:
                    break  # the receiver refuses this payload: retrying will not help
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            if attempt < self._retries and self._stop.wait(self._backoff.delay(attempt + 1)):
                break
        self.failed += 1
        # Never log the URL: webhook URLs usually embed a token.
        log.error("alert_delivery_failed", kind=payload["kind"], error=error)


class Monitor:
    """One sampling loop: observe, decide, act."""

    def __init__(
        self,
        *,
        table: ProcessTable,
        policy: Policy,
        notifier: AlertNotifier,
        engine: Engine | None,
        clock: Callable[[], float] = time.monotonic,
        kill: Callable[[int, int], None] = os.kill,
    ) -> None:
        self._table = table
        self._policy = policy
        self._notifier = notifier
        self._engine = engine
        self._clock = clock
        self._kill = kill

    def observe(self) -> Observation:
        samples, missing = self._table.observe()
        lag = age = None
        error = None
        if self._engine is not None:
            try:
                lags = contract_lags(self._engine)
                lag = max_lag(lags)
                if lags:
                    oldest = min(state.updated_at for state in lags)
                    age = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
            except Exception as exc:  # a database outage is an alert, not a crash
                error = type(exc).__name__
        return Observation(tuple(samples), tuple(missing), lag, age, error)

    def tick(self) -> list[Action]:
        observation = self.observe()
        log.info(
            "monitor_sample",
            processes=[
                {
                    "role": s.role.value,
                    "pid": s.pid,
                    "rss_mb": round(s.rss_bytes / MB, 1),
                    "cpu_percent": None if s.cpu_percent is None else round(s.cpu_percent, 1),
                }
                for s in observation.samples
            ],
            missing=[r.value for r in observation.missing],
            lag_ledgers=observation.lag,
        )
        actions = self._policy.decide(observation, self._clock())
        for action in actions:
            if isinstance(action, Terminate):
                try:
                    self._kill(action.pid, signal.SIGTERM)
                    log.warning(
                        "process_terminated",
                        role=action.role.value,
                        pid=action.pid,
                        reason=action.reason,
                    )
                except ProcessLookupError:
                    pass
            else:
                self._notifier.send(action)
        return actions


def run_monitor(
    settings: Settings,
    *,
    ticks: int = 0,
    interval: float | None = None,
    api: bool = True,
    indexer: bool | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Sample every ``interval`` seconds until SIGTERM/SIGINT (or ``ticks`` samples); exit code."""
    from stellarstream.db.engine import make_engine

    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():

        def _stop(signum: int, _frame: object) -> None:
            log.info("monitor_stopping", signal=signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    watch_indexer = bool(settings.contract_ids) if indexer is None else indexer
    engine = make_engine(settings.resolved_database_url) if watch_indexer else None
    webhook = settings.alert_webhook_url.get_secret_value() if settings.alert_webhook_url else ""
    notifier = AlertNotifier(
        webhook,
        retries=settings.alert_webhook_retries,
        timeout=settings.alert_webhook_timeout_seconds,
    )
    monitor = Monitor(
        table=ProcessTable(settings.var_dir, api=api, indexer=watch_indexer),
        policy=Policy(Thresholds.from_settings(settings)),
        notifier=notifier,
        engine=engine,
    )
    every = interval if interval is not None else settings.monitor_interval_seconds
    log.info(
        "monitor_started",
        interval_seconds=every,
        watch_api=api,
        watch_indexer=watch_indexer,
        webhook=bool(webhook),
    )
    done = 0
    try:
        while not stop.is_set():
            monitor.tick()
            done += 1
            if ticks and done >= ticks:
                break
            stop.wait(every)
    finally:
        notifier.close()
        if engine is not None:
            engine.dispose()
        log.info("monitor_stopped", samples=done)
    return 0
