"""Wire the live indexer from settings: RPC client, source, lock, signals."""

from __future__ import annotations

import threading
from pathlib import Path

import structlog

from stellarstream.chain.rpc import RetryInfo, RpcClient, RpcSource
from stellarstream.clock import utc_now
from stellarstream.config import Settings
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.ingest.live.indexer import Indexer, Shutdown, StopSignal
from stellarstream.ingest.live.lock import IndexerAlreadyRunning, IndexerLock, lock_for
from stellarstream.ops.pidfile import INDEXER_PIDFILE, remove_pidfile, write_pidfile
from stellarstream.ops.sdnotify import Watchdog

log = structlog.get_logger(__name__)


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


def run_indexer(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT; return the process exit code."""
    stop = StopSignal()
    stop.install()
    watchdog = Watchdog()
    engine = make_engine(settings.resolved_database_url)

    def on_retry(info: RetryInfo) -> None:
        log.warning(
            "rpc_retry",
            attempt=info.attempt,
            retry_in_seconds=round(info.delay, 2),
            reason=info.reason,
        )

    client = RpcClient(
        settings.rpc_url,
        timeout=settings.rpc_timeout_seconds,
        max_retries=settings.rpc_max_retries,
        on_retry=on_retry,
        sleep=stop.wait,
    )
    try:
        indexer = Indexer(
            sessions=make_sessionmaker(engine),
            source=RpcSource(
                client, limit=settings.rpc_page_limit, xdr_format=settings.rpc_xdr_format
            ),
            contract_ids=settings.contract_ids,
            latest_ledger=lambda: client.get_latest_ledger().sequence,
            clock=utc_now,
            stop=stop,
            lock=PidfileLock(
                lock_for(engine, settings.contract_ids, settings.standby_poll_seconds),
                settings.var_dir / INDEXER_PIDFILE,
            ),
            start_ledger=settings.start_ledger,
            poll_interval=settings.poll_interval_seconds,
            fee_bps=settings.protocol_fee_bps,
            on_progress=watchdog.progress,  # systemd: READY=1, then WATCHDOG=1 while progressing
        )
        indexer.run()
    except IndexerAlreadyRunning as exc:
        log.error("indexer_refused", reason=exc.message)
        return 3
    except Shutdown:
        return 0
    finally:
        watchdog.stopping()
        client.close()
        engine.dispose()
    return 0
