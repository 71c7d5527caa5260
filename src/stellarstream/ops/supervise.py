"""A tiny supervisor for ``stellarstream up``: keep the indexer process running beside the API.

Production runs PM2 or systemd (deploy/); this is the one-command development experience.
"""

from __future__ import annotations

import subprocess
import sys
import threading

import structlog

from stellarstream.retry import Backoff

log = structlog.get_logger(__name__)


class ChildProcess:
    """Runs ``args`` and restarts it (with back-off) when it exits on its own."""

    def __init__(self, name: str, args: list[str], *, max_backoff: float = 30.0) -> None:
        self.name = name
        self.args = args
        # 1 s after a clean exit, then 2, 4, ... 32 s (at most max_backoff) per failure in a row
        self._backoff = Backoff(base=1.0, cap=max_backoff, max_exponent=5)
        self._stopping = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name=f"supervise-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._proc = subprocess.Popen(self.args)  # noqa: S603 - our own executable
            code = self._proc.wait()
            if self._stopping.is_set():
                return
            failures = failures + 1 if code != 0 else 0
            delay = self._backoff.delay(failures + 1)
            log.warning("child_exited", child=self.name, exit_code=code, restart_in_seconds=delay)
            self._stopping.wait(delay)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the child, wait, SIGKILL if it does not stop in time."""
        self._stopping.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.error("child_killed", child=self.name, reason=f"no exit within {timeout}s")
                proc.kill()
                proc.wait()
        self._thread.join(timeout)


def stellarstream_command(*args: str) -> list[str]:
    """The command line that runs ``stellarstream <args>`` with this interpreter."""
    return [sys.executable, "-m", "stellarstream", *args]
