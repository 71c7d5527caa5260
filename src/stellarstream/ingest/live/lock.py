"""Exactly one live indexer per contract.

PostgreSQL: one session-level advisory lock per contract id, held on a dedicated connection for
the indexer's lifetime. A second indexer waits (hot standby) and takes over as soon as the first
one's connection ends (crash, kill, shutdown). SQLite: an exclusive lock file beside the database;
a second indexer is refused with a message naming the running one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from pathlib import Path
from typing import IO, Protocol

import structlog
from sqlalchemy import Connection, Engine, text

from stellarstream.errors import IndexerAlreadyRunning
from stellarstream.ops.pidfile import remove_pidfile, write_pidfile

log = structlog.get_logger(__name__)


class IndexerLock(Protocol):
    def acquire(self, stop: threading.Event) -> bool:
        """Block until this process holds the lock (True) or ``stop`` is set (False)."""
        ...

    def healthy(self) -> bool:
        """Still held (the lock's connection is alive)."""
        ...

    def release(self) -> None: ...


def lock_key(contract_id: str) -> int:
    """A signed 64-bit advisory lock key for ``contract_id``."""
    digest = hashlib.sha256(f"stellarstream-indexer:{contract_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresAdvisoryLock:
    def __init__(self, engine: Engine, contract_ids: list[str], poll_seconds: float) -> None:
        self._engine = engine
        self._keys = sorted({lock_key(c) for c in contract_ids})
        self._poll = poll_seconds
        self._conn: Connection | None = None

    def acquire(self, stop: threading.Event) -> bool:
        announced = False
        while not stop.is_set():
            if self._try():
                if announced:
                    log.info("indexer_lock_acquired", role="active", took_over=True)
                return True
            if not announced:
                log.info("indexer_standby", reason="another indexer holds the lock; waiting")
                announced = True
            stop.wait(self._poll)
        return False

    def _try(self) -> bool:
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        held: list[int] = []
        for key in self._keys:
            if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                held.append(key)
            else:
                for got in held:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": got})
                conn.close()
                return False
        self._conn = conn
        return True

    def healthy(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock_all()"))
                self._conn.close()
            finally:
                self._conn = None


class FileLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._handle: IO[str] | None = None

    def acquire(self, stop: threading.Event) -> bool:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self._path, "a+")  # noqa: SIM115 - held open for the process lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise IndexerAlreadyRunning(
                f"another indexer (pid {holder}) is running on this SQLite database; SQLite "
                "supports one indexer: stop it first, or use PostgreSQL for a hot standby"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle
        return True

    def healthy(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def lock_for(engine: Engine, contract_ids: list[str], poll_seconds: float) -> IndexerLock:
    """The right lock for the database behind ``engine``."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresAdvisoryLock(engine, contract_ids, poll_seconds)
    database = url.database or "memory"
    return FileLock(Path(f"{database}.indexer.lock"))


class PidfileLock:
    """The indexer lock, plus ``var/indexer.pid`` naming the process while it holds the lock
    (the health monitor finds the active indexer through it; a refused one never writes it)."""

    def __init__(self, lock: IndexerLock, path: Path) -> None:
        self._lock = lock
        self._path = path

    def acquire(self, stop: threading.Event) -> bool:
        if not self._lock.acquire(stop):
            return False
        write_pidfile(self._path)
        return True

    def healthy(self) -> bool:
        return self._lock.healthy()

    def release(self) -> None:
        remove_pidfile(self._path)
        self._lock.release()
