"""One batch through decode -> store -> project -> invoices -> checkpoint, in one transaction."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from stellarstream.chain import events as ev
from stellarstream.chain.decode import decode
from stellarstream.chain.source import Batch
from stellarstream.chain.types import RawEvent
from stellarstream.db.models import Stream
from stellarstream.ingest import checkpoint
from stellarstream.ingest.decoding import DecodedBatch
from stellarstream.ingest.project import Located, project
from stellarstream.ingest.store import StreamKey, insert_events, stream_events
from stellarstream.invoices.completion import complete_invoices
from stellarstream.webhooks.outbox import enqueue_stream_events

REBUILD_CHUNK = 500
"""Streams rebuilt per step (one query for their events, one upsert)."""


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
    decoded: DecodedBatch | None = None,
) -> Ingested:
    """Store ``batch`` and everything derived from it; the caller commits once.

    ``checkpoint_source``: advance that checkpoint to ``batch.covered_to`` in the same
    transaction (None for callers that track coverage themselves). ``decoded``: the batch's
    events already decoded (a :class:`~stellarstream.ingest.decoding.Decoder`), else decoded here.
    """
    wanted = set(contract_ids)
    texts: list[str] | None = None
    if decoded is None:
        pairs = [(raw, decode(raw)) for raw in batch.events if raw.contract_id in wanted]
    else:
        keep = [i for i, raw in enumerate(batch.events) if raw.contract_id in wanted]
        pairs = [(batch.events[i], decoded.events[i]) for i in keep]
        texts = [decoded.decoded_json[i] for i in keep]
    stored = insert_events(session, pairs, source=batch.source, now=now, decoded_json=texts)
    touched = stored.touched
    rebuild_streams(session, touched, known=stored.new)
    created = [(raw, e) for raw, e in stored.new if isinstance(e, ev.StreamCreated)]
    completed = complete_invoices(session, created, fee_bps=fee_bps, now=now)
    enqueue_stream_events(session, stored.new, now=now)  # webhooks: rows only, sent later
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


def rebuild_streams(
    session: Session,
    keys: set[StreamKey],
    known: Iterable[tuple[RawEvent, ev.DomainEvent]] = (),
) -> None:
    """Recompute each stream in ``keys`` from all its stored events (upsert or delete).

    ``known``: stored events already decoded in memory (the batch just inserted); their stored
    JSON is not parsed again. Most events of a sync's touched streams are in its batch.
    """
    if not keys:
        return
    in_memory = {(raw.tx_hash, raw.event_index): event for raw, event in known}
    ordered = sorted(keys)
    # A few hundred streams at a time: their events, states and rows are all the memory needed.
    for start in range(0, len(ordered), REBUILD_CHUNK):
        grouped = stream_events(session, set(ordered[start : start + REBUILD_CHUNK]))
        rows: list[dict[str, Any]] = []
        gone: list[StreamKey] = []
        for (contract_id, stream_id), stored in grouped.items():
            located = [
                Located(
                    in_memory.get((tx_hash, event_index)) or ev.from_json(json.loads(decoded_json)),
                    ledger,
                    tx_index,
                    op_index,
                    event_index,
                    tx_hash,
                )
                for ledger, tx_index, op_index, event_index, tx_hash, decoded_json in stored
            ]
            state = project(contract_id, stream_id, located)
            if state is None:
                gone.append((contract_id, stream_id))
            else:
                rows.append(state)
        if rows:
            _upsert_streams(session, rows)
        for contract_id, stream_id in gone:
            session.execute(
                delete(Stream).where(
                    Stream.contract_id == contract_id, Stream.stream_id == stream_id
                )
            )


def _upsert_streams(session: Session, rows: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = [c for c in rows[0] if c not in ("contract_id", "stream_id")]
    # One Core statement executed with a parameter list: compiled once and cached (a multi-row
    # VALUES clause was compiled afresh for every 1,000 rows: most of a sync's time), then sent
    # through the driver's executemany / SQLAlchemy's batched "insertmanyvalues".
    statement = insert(typing.cast(Table, Stream.__table__))
    statement = statement.on_conflict_do_update(
        index_elements=["contract_id", "stream_id"],
        set_={c: statement.excluded[c] for c in columns},
    )
    session.execute(statement, rows)
