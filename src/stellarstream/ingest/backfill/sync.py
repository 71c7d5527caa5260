"""Historical sync: backfill a ledger range from RPC, Horizon or a SEP-54 data lake.

Every stage after the source is the live indexer's (decode, store, project, invoices), so a
range can be synced any number of times, overlapping anything, and nothing changes twice. Each
batch commits with the coverage it proves (``sync_ranges``), so a killed sync resumes where it
stopped: a rerun fetches only the gaps.

Sources are tried in order for each part of the range. A part the first source cannot serve
(unreachable after retries, older than it keeps, no transaction meta) falls to the next one,
and the reason is logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog
from sqlalchemy.orm import Session, sessionmaker

from stellarstream.chain.source import EventSource
from stellarstream.clock import Clock
from stellarstream.db import coverage
from stellarstream.errors import NoSourceCovers, RangeUnavailable, SourceError, ValidationError
from stellarstream.ingest.backfill.batching import joined
from stellarstream.ingest.backfill.prefetch import Prefetcher, requests_of
from stellarstream.ingest.record import record_batch

log = structlog.get_logger(__name__)

ProgressCallback = Callable[[int, int], None]  # (ledgers advanced, events seen)


@dataclass(slots=True)
class SyncSummary:
    """What a sync did (printed by ``stellarstream sync --json``)."""

    start: int
    end: int
    ledgers: int = 0
    events: int = 0
    new: int = 0
    duplicate: int = 0
    undecoded: int = 0
    already_covered: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    subranges: list[dict[str, object]] = field(default_factory=list)
    fallbacks: list[dict[str, object]] = field(default_factory=list)
    seconds: float = 0.0


def validate_range(start: int, end: int, latest: int | None) -> None:
    """A clear error for a range that cannot be synced."""
    if start < 1:
        raise ValidationError(f"--from must be a positive ledger, got {start}", field="from")
    if end < start:
        raise ValidationError(f"--to ({end}) is before --from ({start})", field="to")
    if latest is not None and end > latest:
        raise ValidationError(
            f"--to {end} is beyond the network's latest ledger {latest}", field="to"
        )


class HistoricalSync:
    """Fill ``[start, end]`` for ``contract_ids`` from ``sources`` tried in ``order``."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        sources: Mapping[str, EventSource],
        order: list[str],
        contract_ids: list[str],
        clock: Clock,
        fee_bps: int = 0,
        progress: ProgressCallback | None = None,
        after_batch: Callable[[], None] | None = None,
        prefetcher: Prefetcher | None = None,
    ) -> None:
        """``prefetcher``: a worker serving ``sources``' batches decoded (None: in process)."""
        self._sessions = sessions
        self._prefetcher = prefetcher
        self._after_batch = after_batch or (lambda: None)
        self._sources = sources
        self._order = [name for name in order if name in sources]
        self._contract_ids = contract_ids
        self._clock = clock
        self._fee_bps = fee_bps
        self._progress = progress or (lambda _ledgers, _events: None)

    def run(self, start: int, end: int) -> SyncSummary:
        began = time.monotonic()
        summary = SyncSummary(start=start, end=end)
        with self._sessions() as session:
            stored = [coverage.covered(session, c) for c in self._contract_ids]
        # Only what every contract already has is skipped; the rest is fetched (idempotently).
        todo = sorted({gap for ranges in stored for gap in coverage.gaps(ranges, start, end)})
        todo = coverage.merge(todo)
        summary.already_covered = (end - start + 1) - sum(b - a + 1 for a, b in todo)
        self._progress(summary.already_covered, 0)
        for a, b in todo:
            self._fill(a, b, self._order, summary)
        summary.seconds = round(time.monotonic() - began, 3)
        return summary

    def _fill(self, start: int, end: int, order: list[str], summary: SyncSummary) -> None:
        reasons: list[str] = []
        for index, name in enumerate(order):
            source = self._sources[name]
            position = [start]
            try:
                self._drain(name, source, position, end, summary)
                return
            except RangeUnavailable as exc:
                start = position[0]
                if exc.oldest_ledger > start and exc.oldest_ledger <= end:
                    # This source keeps the newer part: older ledgers go on to the next source.
                    self._fallback(summary, name, start, exc.oldest_ledger - 1, exc.message)
                    self._fill(start, exc.oldest_ledger - 1, order[index + 1 :], summary)
                    self._fill(exc.oldest_ledger, end, order[index:], summary)
                    return
                reasons.append(f"{name}: {exc.message}")
                self._fallback(summary, name, start, end, exc.message)
            except SourceError as exc:
                start = position[0]
                reasons.append(f"{name}: {exc.message}")
                self._fallback(summary, name, start, end, exc.message)
            finally:
                self._count_requests(name, source, summary, self._prefetcher)
        raise NoSourceCovers(start, end, reasons)

    def _drain(
        self,
        name: str,
        source: EventSource,
        position: list[int],
        end: int,
        summary: SyncSummary,
    ) -> None:
        """Ingest ``[position[0], end]``; ``position[0]`` follows what is committed."""
        low = position[0]
        # Pages joined into transactions (see batching.py), in the worker if there is one.
        if self._prefetcher is not None:
            batches = self._prefetcher.batches(name, low, end)
        else:
            batches = joined(source.batches(self._contract_ids, low, end))
        for batch in batches:
            covered = min(batch.covered_to, end)
            result = record_batch(
                self._sessions,
                batch,
                self._contract_ids,
                clock=self._clock,
                source=source.name,
                covered=(low, covered),
                fee_bps=self._fee_bps,
                stored_before=summary.new,
            )
            advanced = max(0, covered - low + 1)
            summary.ledgers += advanced
            summary.events += result.events
            summary.new += result.new
            summary.duplicate += result.duplicate
            summary.undecoded += result.undecoded
            self._note_subrange(summary, source.name, low, covered)
            self._progress(advanced, result.events)
            low = max(low, covered + 1)
            position[0] = low
            del batch  # its memory is free before the next batch arrives
            self._after_batch()
        if low <= end:
            raise SourceError(f"{source.name} stopped at ledger {low - 1}, before {end}")

    @staticmethod
    def _note_subrange(summary: SyncSummary, source: str, start: int, end: int) -> None:
        if end < start:
            return
        last = summary.subranges[-1] if summary.subranges else None
        if last and last["source"] == source and last["to"] == start - 1:
            last["to"] = end
        else:
            summary.subranges.append({"from": start, "to": end, "source": source})

    @staticmethod
    def _fallback(summary: SyncSummary, source: str, start: int, end: int, reason: str) -> None:
        log.warning("sync_fallback", source=source, start=start, end=end, reason=reason)
        summary.fallbacks.append({"source": source, "from": start, "to": end, "reason": reason})

    @staticmethod
    def _count_requests(
        name: str, source: EventSource, summary: SyncSummary, prefetcher: Prefetcher | None
    ) -> None:
        # With a worker, its copy of the source made them (after this one's, if any).
        requests = prefetcher.requests(name) if prefetcher is not None else None
        if requests is None:
            requests = requests_of(source)
        if requests is not None:
            summary.requests[name] = requests
