"""One batch in one transaction: store, project, invoices, webhooks, checkpoint and coverage.

The live indexer and the backfill both commit each batch through :func:`record_batch`, so
every stage after the source is the same for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from stellarstream.chain import events as ev
from stellarstream.chain.decode import decode
from stellarstream.chain.source import Batch
from stellarstream.clock import Clock
from stellarstream.db import coverage
from stellarstream.ingest import checkpoint
from stellarstream.ingest.store import insert_events, refresh_statistics
from stellarstream.invoices.completion import complete_invoices
from stellarstream.projection.notify import notify
from stellarstream.projection.rows import rebuild_streams
from stellarstream.webhooks.outbox import enqueue_stream_events


@dataclass(frozen=True, slots=True)
class Ingested:
    """Counts for one batch."""

    events: int
    new: int
    duplicate: int
    undecoded: int
    streams: int
    invoices_completed: int
    covered_to: int


def ingest_batch(
    session: Session,
    batch: Batch,
    contract_ids: list[str],
    *,
    now: datetime,
    fee_bps: int = 0,
    checkpoint_source: str | None = None,
) -> Ingested:
    """Store ``batch`` and everything derived from it; the caller commits once.

    ``checkpoint_source``: advance that checkpoint to ``batch.covered_to`` in the same
    transaction (None for callers that track coverage themselves).
    """
    wanted = set(contract_ids)
    if batch.decoded is not None:
        events = zip(batch.events, batch.decoded, strict=True)
        pairs = [(raw, event) for raw, event in events if raw.contract_id in wanted]
    else:
        pairs = [(raw, decode(raw)) for raw in batch.events if raw.contract_id in wanted]
    stored = insert_events(session, pairs, source=batch.source, now=now)
    touched = stored.touched
    rebuild_streams(session, touched, known=stored.new)
    created = [(raw, e) for raw, e in stored.new if isinstance(e, ev.StreamCreated)]
    completed = complete_invoices(session, created, fee_bps=fee_bps, now=now)
    enqueue_stream_events(session, stored.new, now=now)  # webhooks: rows only, sent later
    if stored.new:
        notify(session)  # live updates: API workers wake when this commits
    if checkpoint_source is not None:
        checkpoint.advance(
            session,
            contract_ids,
            checkpoint_source,
            batch.covered_to,
            batch.cursor,
            now,
            latest_ledger=batch.latest_ledger,
        )
    return Ingested(
        events=len(pairs),
        new=len(stored.new),
        duplicate=stored.duplicate,
        undecoded=stored.undecoded,
        streams=len(touched),
        invoices_completed=completed,
        covered_to=batch.covered_to,
    )


def record_batch(
    sessions: sessionmaker[Session],
    batch: Batch,
    contract_ids: list[str],
    *,
    clock: Clock,
    source: str,
    covered: coverage.Range,
    fee_bps: int = 0,
    advance_checkpoint: bool = False,
    stored_before: int | None = None,
) -> Ingested:
    """Ingest ``batch`` and record ``covered`` as stored by ``source``; commit both at once.

    ``advance_checkpoint``: also advance ``source``'s checkpoint to ``batch.covered_to`` (the live
    indexer). ``stored_before``: events this run stored before this batch (a sync), to refresh
    the planner's statistics when they outgrow the tables.
    """
    with sessions() as session, session.begin():
        now = clock()
        result = ingest_batch(
            session,
            batch,
            contract_ids,
            now=now,
            fee_bps=fee_bps,
            checkpoint_source=source if advance_checkpoint else None,
        )
        coverage.record(session, contract_ids, source, *covered, now)
        if stored_before is not None:
            refresh_statistics(session, stored_before + result.new)
    return result
