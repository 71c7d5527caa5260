"""Wire a historical sync from settings and command-line choices."""

from __future__ import annotations

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
from stellarstream.errors import SourceError
from stellarstream.ingest.batchgc import BatchCollector
from stellarstream.ingest.batching import ONE_PROCESS_PAGE_LIMIT
from stellarstream.ingest.prefetch import Prefetcher, use_worker
from stellarstream.ingest.sync import HistoricalSync, ProgressCallback, SyncSummary, validate_range

log = structlog.get_logger(__name__)
DEFAULT_ORDER = ["rpc", "horizon", "datalake"]


def source_order(forced: str | None, available: list[str]) -> list[str]:
    """The forced source first, then the others in the default order."""
    order = [forced] if forced else []
    order += [name for name in DEFAULT_ORDER if name not in order]
    return [name for name in order if name in available]


def page_limit(settings: Settings, worker: bool) -> int:
    """The getEvents page a sync asks for: ``STELLARSTREAM_SYNC_PAGE_LIMIT``, at most
    :data:`~stellarstream.ingest.batching.ONE_PROCESS_PAGE_LIMIT` without a worker (memory)."""
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


def run_sync(
    settings: Settings,
    start: int,
    end: int,
    *,
    forced: str | None,
    datalake: str | None,
    progress_factory: Any,
) -> SyncSummary:
    """Validate, then sync ``[start, end]``; ``progress_factory(total)`` gives a callback."""
    with ExitStack() as stack:
        sources: dict[str, EventSource] = {}

        def on_retry(info: RetryInfo) -> None:
            log.warning(
                "rpc_retry",
                attempt=info.attempt,
                retry_in_seconds=round(info.delay, 2),
                reason=info.reason,
            )

        worker = use_worker(settings.sync_worker)
        if settings.rpc_url:
            client = RpcClient(
                settings.rpc_url,
                timeout=settings.rpc_timeout_seconds,
                max_retries=settings.rpc_max_retries,
                on_retry=on_retry,
            )
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
        progress: ProgressCallback = progress_factory(end - start + 1)
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
