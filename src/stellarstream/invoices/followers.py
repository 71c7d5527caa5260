"""Background checks of payers' pending transactions (``POST .../submitted`` answered 202):
:meth:`Submissions.follow <stellarstream.invoices.submission.Submissions.follow>` on a few threads
per API process, bounded."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import structlog

from stellarstream.invoices.submission import Submissions

# The logger of the submissions these checks belong to (where the log has always had them).
log = structlog.get_logger("stellarstream.invoices.submission")

FOLLOW_WORKERS = 4
FOLLOW_MAX = 256
"""Transactions followed at once per process; more are refused (202 without a follow-up)."""


class Followers:
    """Background checks of pending transactions, a few threads per API process, bounded."""

    def __init__(self, submissions: Callable[[], Submissions]) -> None:
        self._submissions = submissions
        self._pool = ThreadPoolExecutor(FOLLOW_WORKERS, thread_name_prefix="invoice-follow")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._active: set[tuple[str, str]] = set()

    def follow(self, slug: str, tx_hash: str) -> bool:
        """Start following ``tx_hash`` for ``slug``; False if it already is or too many are."""
        key = (slug, tx_hash)
        with self._lock:
            if key in self._active or len(self._active) >= FOLLOW_MAX or self._stop.is_set():
                return False
            self._active.add(key)
        self._pool.submit(self._run, key)
        return True

    def _run(self, key: tuple[str, str]) -> None:
        try:
            self._submissions().follow(*key, self._stop)
        except Exception:  # a background check must never take the worker down
            log.exception("invoice_follow_failed", slug=key[0], tx_hash=key[1])
        finally:
            with self._lock:
                self._active.discard(key)

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._active)

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
