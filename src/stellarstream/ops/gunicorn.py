"""gunicorn integration: JSON logging for the master, server hooks, worker count.

``deploy/gunicorn.conf.py`` wires these in; nothing here runs inside the API workers' requests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from gunicorn import glogging  # type: ignore[import-untyped]
from gunicorn.arbiter import Arbiter  # type: ignore[import-untyped]
from uvicorn_worker import UvicornWorker  # type: ignore[import-untyped]

from stellarstream.config import Settings

log = structlog.get_logger("stellarstream.gunicorn")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def cpu_cores() -> int:
    """CPU cores this process may run on (the affinity mask, which containers narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def worker_count(settings: Settings) -> int:
    """``STELLARSTREAM_API_WORKERS``, or one worker per CPU core when it is 0 (the default)."""
    return settings.api_workers or cpu_cores()


def metrics_dir(settings: Settings) -> Path:
    """Where prometheus-client's workers share metric files (``PROMETHEUS_MULTIPROC_DIR``).

    Set in this process's environment before any worker starts (workers inherit it and
    prometheus-client picks its multiprocess mode on import). An operator's own value is kept.
    """
    path = Path(os.environ.get(MULTIPROC_ENV) or settings.var_dir / "prometheus-multiproc")
    os.environ[MULTIPROC_ENV] = str(path.resolve())
    return path


def reset_metrics_dir(path: Path) -> None:
    """Start a master with an empty folder: files of a previous run would add stale counts."""
    if path.is_dir():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)


def mark_worker_dead(pid: int) -> None:
    """A worker exited: drop its live gauges from the shared folder (its counters stay)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


class JsonLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's (and the uvicorn workers') log lines through the same JSON handler as the app.

    The access log is off: ``stellarstream.api.access`` writes one structured line per request
    with the route template and request id (uvicorn's own access line would repeat it).
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        handlers = list(logging.getLogger().handlers)
        self.error_log.handlers = handlers
        self.error_log.propagate = False
        self.access_log.handlers = [logging.NullHandler()]
        self.access_log.setLevel(logging.WARNING)
        self.access_log.propagate = False


class DrainingServer(uvicorn.Server):
    """uvicorn, stopping in two steps: stop accepting, let just-accepted connections deliver
    their request, then shut down as uvicorn does (idle connections closed, in-flight requests
    finished).

    Without the pause, a connection the worker accepted a moment before SIGTERM (a HUP reload, a
    scale-down, the monitor replacing a worker) whose request bytes had not been read yet counts
    as idle and is closed: the client sees a reset instead of a response.
    """

    drain_seconds = 0.5

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        await asyncio.sleep(self.drain_seconds)
        await super().shutdown(sockets)


class Worker(UvicornWorker):  # type: ignore[misc]
    """``uvicorn_worker.UvicornWorker`` serving through :class:`DrainingServer`."""

    async def _serve(self) -> None:
        self.config.app = self.wsgi
        server = DrainingServer(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
