"""The store writes exactly what the ORM would, and finds events by stream, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from tests.support import contract_events as ce
from tests.support.chain_data import stream_history

from stellarstream.chain import events as ev
from stellarstream.chain.decode import decode
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import ContractEventRow
from stellarstream.ingest import store
from stellarstream.projection import reads

NOW = datetime(2026, 5, 5, 1, 2, 3, 456_789, tzinfo=UTC)
COLUMNS = (
    "contract_id, ledger, ledger_closed_at, tx_hash, tx_index, op_index, event_index, "
    "event_type, stream_id, topic_xdr, value_xdr, raw_json, decoded, source, ingested_at"
)


def stored_rows(url: str) -> list[Any]:
    engine = make_engine(url)
    as_text = ", ".join(
        f"CAST({c} AS TEXT)" if url.startswith("postgresql") else c for c in COLUMNS.split(", ")
    )
    try:
        with engine.connect() as conn:
            query = f"SELECT {as_text} FROM contract_events ORDER BY tx_hash, event_index"
            return list(conn.execute(text(query)))
    finally:
        engine.dispose()


def test_insert_events_writes_what_the_orm_writes(
    database_url: str, other_database_url: str
) -> None:
    # Every other event as an RPC node sends it with xdrFormat json: kept as XDR-JSON.
    events = [raw if i % 2 else ce.as_json(raw) or raw for i, raw in enumerate(stream_history(30))]
    assert sum(raw.value_json is not None for raw in events) == len(events) // 2
    pairs = [(raw, decode(raw)) for raw in events]
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session, session.begin():
        first = store.insert_events(session, pairs[:50], source="rpc", now=NOW)
        again = store.insert_events(session, pairs, source="rpc", now=NOW)
    engine.dispose()
    assert len(first.new) == 50 and again.duplicate == 50 and len(again.new) == len(pairs) - 50
    other = make_engine(other_database_url)
    with make_sessionmaker(other)() as session, session.begin():
        for raw, event in pairs:
            session.add(
                ContractEventRow(
                    contract_id=raw.contract_id,
                    ledger=raw.ledger,
                    ledger_closed_at=raw.ledger_closed_at,
                    tx_hash=raw.tx_hash,
                    tx_index=raw.tx_index,
                    op_index=raw.op_index,
                    event_index=raw.event_index,
                    event_type=event.kind,
                    stream_id=ev.stream_id_of(event),
                    topic_xdr=None if raw.value_json else list(raw.topic_xdr),
                    value_xdr=None if raw.value_json else raw.value_xdr,
                    raw_json=(
                        {
                            "topic": [json.loads(t) for t in raw.topic_json or ()],
                            "value": json.loads(raw.value_json),
                        }
                        if raw.value_json
                        else None
                    ),
                    decoded=ev.to_json(event),
                    source="rpc",
                    ingested_at=NOW,
                )
            )
    other.dispose()
    assert stored_rows(database_url) == stored_rows(other_database_url)


def test_events_are_found_and_counted_by_stream(database_url: str) -> None:
    pairs = [(raw, decode(raw)) for raw in stream_history(2)]
    keys = {(ce.V2_CONTRACT, 0), (ce.V2_CONTRACT, 1), (ce.V2_CONTRACT, 9)}
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session, session.begin():
        store.insert_events(session, pairs, source="rpc", now=NOW)
        grouped = reads.stream_events(session, keys)
        counts = reads.event_counts(session, keys)
        analyzed = store.refresh_statistics(session, len(pairs))
    engine.dispose()
    assert [len(grouped[(ce.V2_CONTRACT, sid)]) for sid in (0, 1, 9)] == [4, 4, 0]
    assert counts == {(ce.V2_CONTRACT, 0): 4, (ce.V2_CONTRACT, 1): 4, (ce.V2_CONTRACT, 9): 0}
    got = [json.loads(row.decoded_json) for row in grouped[(ce.V2_CONTRACT, 0)]]
    assert sorted(got, key=str) == sorted((ev.to_json(e) for _, e in pairs[:4]), key=str)
    assert analyzed == database_url.startswith("postgresql")
