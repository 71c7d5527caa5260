"""The health monitor's decisions: what an observation of the processes calls for.

:class:`Policy` turns an :class:`Observation` (samples of the API master, its workers and the
indexer, and the indexer's lag) into :class:`Alert` and :class:`Terminate` actions, a pure
function of the samples and its memory (CPU streaks, alerts and signals already sent), so it is
tested without processes. :mod:`stellarstream.ops.monitor` does the I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from stellarstream.config import Settings

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
