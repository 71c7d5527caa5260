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

The decisions (:class:`~stellarstream.ops.monitor_policy.Policy`) are a pure function of the
samples and the policy's memory, so they are tested without processes; :class:`ProcessTable`,
:class:`AlertNotifier` and :class:`Monitor` here do the I/O.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]
import structlog
from sqlalchemy import Engine

from stellarstream.config import Settings
from stellarstream.ops.lag import contract_lags, max_lag
from stellarstream.ops.monitor_policy import (
    MB,
    Action,
    Alert,
    Observation,
    Policy,
    Role,
    Sample,
    Terminate,
    Thresholds,
)
from stellarstream.ops.pidfile import GUNICORN_PIDFILE, INDEXER_PIDFILE, process_from_pidfile
from stellarstream.retry import Backoff

log = structlog.get_logger("stellarstream.monitor")


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
