"""Seed a database through the real ingestion path (decode -> store -> project)."""

from __future__ import annotations

from datetime import UTC, datetime

from stellarstream.chain.source import Batch
from stellarstream.chain.types import RawEvent
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.ingest.record import ingest_batch


def ingest_events(
    database_url: str,
    events: list[RawEvent],
    contract_ids: list[str],
    *,
    latest_ledger: int | None = None,
    batch_size: int = 500,
) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        for start in range(0, len(events), batch_size):
            chunk = events[start : start + batch_size]
            top = max(e.ledger for e in chunk)
            batch = Batch(
                chunk, covered_to=top, cursor=None, latest_ledger=latest_ledger or top, source="rpc"
            )
            with sessions() as session, session.begin():
                ingest_batch(
                    session, batch, contract_ids, now=datetime.now(UTC), checkpoint_source="rpc"
                )
    finally:
        engine.dispose()
