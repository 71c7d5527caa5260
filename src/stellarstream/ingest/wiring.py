"""Settings to running ingestion: the clients, sources, indexer and sync each command runs."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import structlog

from stellarstream.chain.datalake import DataLake, DataLakeSource
from stellarstream.chain.horizon import HorizonClient, HorizonSource
from stellarstream.chain.rpc import RetryInfo, RpcClient, RpcSource
from stellarstream.chain.source import EventSource
from stellarstream.clock import utc_now
from stellarstream.config import Settings
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.errors import IndexerAlreadyRunning, SourceError
from stellarstream.ingest.backfill.batchgc import BatchCollector
from stellarstream.ingest.backfill.batching import ONE_PROCESS_PAGE_LIMIT
from stellarstream.ingest.backfill.prefetch import Prefetcher, use_worker
from stellarstream.ingest.backfill.sync import (
    HistoricalSync,
    ProgressCallback,
    SyncSummary,
    validate_range,
)
from stellarstream.ingest.live.indexer import Indexer, Shutdown, StopSignal
from stellarstream.ingest.live.lock import PidfileLock, lock_for
from stellarstream.ops.pidfile import INDEXER_PIDFILE
from stellarstream.ops.sdnotify import Watchdog

log = structlog.get_logger(__name__)
DEFAULT_ORDER = ["rpc", "horizon", "datalake"]


def _on_retry(info: RetryInfo) -> None:
    log.warning(
        "rpc_retry",
        attempt=info.attempt,
        retry_in_seconds=round(info.delay, 2),
        reason=info.reason,
    )


def rpc_client(settings: Settings, **options: Any) -> RpcClient:
    """The RPC client of ``STELLARSTREAM_RPC_URL``, its retries logged (``options``: sleep)."""
    return RpcClient(
        settings.rpc_url,
        timeout=settings.rpc_timeout_seconds,
        max_retries=settings.rpc_max_retries,
        on_retry=_on_retry,
        **options,
    )


def run_indexer(settings: Settings) -> int:
    """Run the live indexer until SIGTERM/SIGINT; return the process exit code."""
    stop = StopSignal()
    stop.install()
    watchdog = Watchdog()
    engine = make_engine(settings.resolved_database_url)
    client = rpc_client(settings, sleep=stop.wait)
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


def missing_setting(settings: Settings, forced: str | None, datalake: str | None) -> str | None:
    """The setting that a forced sync source lacks (None: it is configured, or none is forced)."""
    configured = {
        "rpc": settings.rpc_url,
        "horizon": settings.horizon_url,
        "datalake": datalake or settings.datalake_url,
    }
    if not forced or configured[forced]:
        return None
    if forced == "datalake":
        return "--datalake or STELLARSTREAM_DATALAKE_URL"
    return f"STELLARSTREAM_{forced.upper()}_URL"


def source_order(forced: str | None, available: list[str]) -> list[str]:
    """The forced source first, then the others in the default order."""
    order = [forced] if forced else []
    order += [name for name in DEFAULT_ORDER if name not in order]
    return [name for name in order if name in available]


def page_limit(settings: Settings, worker: bool) -> int:
    """The getEvents page a sync asks for: ``STELLARSTREAM_SYNC_PAGE_LIMIT``, at most
    :data:`~stellarstream.ingest.backfill.batching.ONE_PROCESS_PAGE_LIMIT` without a worker
    (memory)."""
    if worker:
        return settings.sync_page_limit
    return min(settings.sync_page_limit, ONE_PROCESS_PAGE_LIMIT)


def latest_ledger(sources: dict[str, Any]) -> int | None:
    """The network's latest ledger from whichever source answers (a lake cannot tell)."""
    rpc = sources.get("rpc")
    if rpc is not None:
        try:
            return int(rpc.client.get_latest_ledger().sequence)
        except SourceError as exc:
            log.warning("latest_ledger_unknown", source="rpc", reason=exc.message)
    horizon = sources.get("horizon")
    if horizon is not None:
        try:
            return int(horizon.client.ledger_bounds()[1])
        except SourceError as exc:
            log.warning("latest_ledger_unknown", source="horizon", reason=exc.message)
    return None


def sync_sources(
    settings: Settings, stack: ExitStack, *, datalake: str | None, worker: bool
) -> dict[str, EventSource]:
    """Every configured source of a sync, each closed with ``stack``."""
    sources: dict[str, EventSource] = {}
    if settings.rpc_url:
        client = rpc_client(settings)
        stack.callback(client.close)
        sources["rpc"] = RpcSource(
            client, limit=page_limit(settings, worker), xdr_format=settings.rpc_xdr_format
        )
    if settings.horizon_url:
        horizon = HorizonClient(
            settings.horizon_url,
            timeout=settings.horizon_timeout_seconds,
            max_retries=settings.rpc_max_retries
            if settings.horizon_max_retries is None
            else settings.horizon_max_retries,
        )
        stack.callback(horizon.close)
        sources["horizon"] = HorizonSource(horizon)
    lake_location = datalake or settings.datalake_url
    if lake_location:
        lake = DataLake(
            lake_location,
            network_passphrase=settings.network_passphrase,
            retries=settings.datalake_max_retries,
            timeout_seconds=settings.datalake_timeout_seconds,
        )
        stack.callback(lake.close)
        sources["datalake"] = DataLakeSource(lake)
    return sources


def run_sync(
    settings: Settings,
    start: int,
    end: int,
    *,
    forced: str | None,
    datalake: str | None,
    progress_factory: Callable[[int], ProgressCallback],
) -> SyncSummary:
    """Validate, then sync ``[start, end]``; ``progress_factory(total)`` gives a callback."""
    with ExitStack() as stack:
        worker = use_worker(settings.sync_worker)
        sources = sync_sources(settings, stack, datalake=datalake, worker=worker)
        if forced and forced not in sources:
            raise SourceError(f"--source {forced} is not configured (set its URL)")
        order = source_order(forced, list(sources))
        latest = latest_ledger({k: v for k, v in sources.items() if k in ("rpc", "horizon")})
        validate_range(start, end, latest)
        collector = stack.enter_context(BatchCollector())
        # Forked here: after the sources (it takes them), before the engine (it never uses one).
        prefetcher = None
        if worker:
            prefetcher = stack.enter_context(Prefetcher(sources, settings.contract_ids))
        engine = make_engine(settings.resolved_database_url)
        stack.callback(engine.dispose)
        progress = progress_factory(end - start + 1)
        sync = HistoricalSync(
            sessions=make_sessionmaker(engine),
            sources=sources,
            order=order,
            contract_ids=settings.contract_ids,
            clock=utc_now,
            fee_bps=settings.protocol_fee_bps,
            progress=progress,
            after_batch=collector.after_batch,
            prefetcher=prefetcher,
        )
        log.info("sync_started", start=start, end=end, order=order)
        summary = sync.run(start, end)
        log.info(
            "sync_finished",
            ledgers=summary.ledgers,
            events=summary.events,
            new=summary.new,
            seconds=summary.seconds,
        )
        return summary
