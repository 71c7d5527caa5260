"""systemd's notify protocol (``sd_notify``) without a dependency.

A unit with ``Type=notify`` passes ``NOTIFY_SOCKET`` (a unix datagram socket path, or ``@name``
in the abstract namespace); the service sends ``READY=1`` once it works, ``WATCHDOG=1`` at least
every ``WatchdogSec`` while it is healthy, ``STOPPING=1`` when it shuts down, ``STATUS=...`` for
``systemctl status``. Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

NOTIFY_SOCKET = "NOTIFY_SOCKET"


def notify(message: str, socket_path: str | None = None) -> bool:
    """Send ``message`` (``"READY=1"``, ``"WATCHDOG=1\\nSTATUS=..."``); True if it was sent."""
    path = socket_path if socket_path is not None else os.environ.get(NOTIFY_SOCKET, "")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:
        log.warning("sd_notify_failed", error=type(exc).__name__)
        return False
    return True


class Watchdog:
    """Progress reports for the indexer: READY=1 on the first, then WATCHDOG=1.

    Pings are sent at most every ``min_interval`` seconds (a backlog commits many batches a
    second; systemd only needs one ping per ``WatchdogSec``).
    """

    def __init__(
        self,
        socket_path: str | None = None,
        *,
        min_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path = socket_path if socket_path is not None else os.environ.get(NOTIFY_SOCKET, "")
        self._min_interval = min_interval
        self._clock = clock
        self._ready = False
        self._last = float("-inf")

    @property
    def enabled(self) -> bool:
        return bool(self._path)

    def progress(self, status: str | None = None) -> None:
        """The indexer made progress (committed a batch, or found nothing new to commit)."""
        if not self._path:
            return
        now = self._clock()
        if self._ready and now - self._last < self._min_interval:
            return
        parts = ["WATCHDOG=1"] if self._ready else ["READY=1", "WATCHDOG=1"]
        if status:
            parts.append(f"STATUS={status}")
        if notify("\n".join(parts), self._path):
            self._ready = True
            self._last = now

    def stopping(self) -> None:
        if self._path:
            notify("STOPPING=1", self._path)
