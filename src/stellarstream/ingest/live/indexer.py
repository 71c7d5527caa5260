"""The live indexer: follow the chain from the checkpoint, one committed batch at a time."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import structlog
from sqlalchemy.orm import Session, sessionmaker

from stellarstream.chain.source import LIVE_SOURCE, EventSource, ledgers_behind
from stellarstream.clock import Clock
from stellarstream.errors import RangeUnavailable, SourceError
from stellarstream.ingest import checkpoint
from stellarstream.ingest.live.lock import IndexerLock
from stellarstream.ingest.record import record_batch
from stellarstream.retry import Backoff

log = structlog.get_logger(__name__)


class Shutdown(BaseException):
    """Raised by the signal handler to abandon work that is safe to abandon (never a commit)."""


class StopSignal:
    """SIGTERM/SIGINT: stop at once when nothing is being committed, else after the commit."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._critical = 0

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        first = not self.event.is_set()
        self.event.set()
        if first:
            log.info("indexer_stopping", signal=signal.Signals(signum).name)
        if self._critical == 0:
            raise Shutdown

    @contextmanager
    def critical(self) -> Iterator[None]:
        """A section a signal must not interrupt (the batch's transaction)."""
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1

    def is_set(self) -> bool:
        return self.event.is_set()

    def wait(self, seconds: float) -> bool:
        return self.event.wait(seconds)


class Indexer:
    """Follows ``source`` for ``contract_ids`` and commits each batch with its checkpoint."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        source: EventSource,
        contract_ids: list[str],
        latest_ledger: Callable[[], int],
        clock: Clock,
        stop: StopSignal,
        lock: IndexerLock,
        start_ledger: int | None = None,
        poll_interval: float = 5.0,
        fee_bps: int = 0,
        max_backoff: float = 60.0,
        on_progress: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._source = source
        self._contract_ids = contract_ids
        self._latest_ledger = latest_ledger
        self._clock = clock
        self._stop = stop
        self._lock = lock
        self._start_ledger = start_ledger
        self._poll = poll_interval
        self._fee_bps = fee_bps
        # equal jitter over poll * 2**failures: the first failure waits poll to 2 * poll
        self._backoff = Backoff(
            base=poll_interval, cap=max_backoff, jitter="equal", max_exponent=10
        )
        # Called after each committed batch and each successful pass (the systemd watchdog).
        self._on_progress = on_progress or (lambda: None)

    def run(self) -> None:
        """Hold the lock and index until stopped."""
        try:
            if not self._lock.acquire(self._stop.event):
                return
            log.info("indexer_started", contracts=self._contract_ids)
            failures = 0
            while not self._stop.is_set():
                if not self._lock.healthy():
                    raise SourceError("lost the indexer lock's database connection; restarting")
                try:
                    self.catch_up()
                    self._on_progress()
                    failures = 0
                    self._stop.wait(self._poll)
                except RangeUnavailable as exc:
                    self._skip_to_retained(exc)
                except SourceError as exc:
                    failures += 1
                    delay = self._backoff.delay(failures + 1)
                    log.warning(
                        "source_unavailable",
                        error=exc.message,
                        retry_in_seconds=round(delay, 1),
                        consecutive_failures=failures,
                    )
                    self._stop.wait(delay)
        except Shutdown:
            pass
        finally:
            self._lock.release()
            log.info("indexer_stopped")

    def _position(self) -> tuple[int, str | None]:
        with self._sessions() as session:
            position = checkpoint.load(session, self._contract_ids, LIVE_SOURCE)
        if position is not None:
            return position.ledger + 1, position.cursor
        start = self._start_ledger or self._latest_ledger()
        log.info("indexer_first_start", start_ledger=start)
        return start, None

    def catch_up(self) -> int:
        """Ingest every batch the source has now; return how many were committed."""
        start, cursor = self._position()
        committed = 0
        low = start
        for batch in self._source.batches(self._contract_ids, start, None, cursor):
            with self._stop.critical():
                result = record_batch(
                    self._sessions,
                    batch,
                    self._contract_ids,
                    clock=self._clock,
                    source=LIVE_SOURCE,
                    covered=(low, batch.covered_to),
                    fee_bps=self._fee_bps,
                    advance_checkpoint=True,
                )
            low = max(low, batch.covered_to + 1)
            committed += 1
            self._on_progress()
            if result.events or committed == 1:
                log.info(
                    "batch_ingested",
                    ledger=result.covered_to,
                    events=result.events,
                    new=result.new,
                    duplicate=result.duplicate,
                    undecoded=result.undecoded,
                    streams=result.streams,
                    invoices_completed=result.invoices_completed,
                    lag=ledgers_behind(result.covered_to, batch.latest_ledger),
                )
            if self._stop.is_set():
                break
        return committed

    def _skip_to_retained(self, exc: RangeUnavailable) -> None:
        """The checkpoint fell out of the node's retention: go on from its oldest ledger."""
        gap_from, _ = self._position()
        gap_to = exc.oldest_ledger - 1
        log.error(
            "ledgers_not_retained",
            missing_from=gap_from,
            missing_to=gap_to,
            hint=f"backfill with: stellarstream sync --from {gap_from} --to {gap_to}",
        )
        with self._stop.critical(), self._sessions() as session, session.begin():
            checkpoint.advance(
                session, self._contract_ids, LIVE_SOURCE, exc.oldest_ledger - 1, None, self._clock()
            )
