"""Store every contract event once: insert-or-ignore on ``(tx_hash, event_index)``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from stellarstream.chain import events as ev
from stellarstream.chain.types import RawEvent
from stellarstream.db.models import ContractEvent

StreamKey = tuple[str, int]  # (contract_id, stream_id)


@dataclass(slots=True)
class Stored:
    """What one insert did."""

    new: list[tuple[RawEvent, ev.DomainEvent]] = field(default_factory=list)
    duplicate: int = 0
    undecoded: int = 0

    @property
    def touched(self) -> set[StreamKey]:
        """Streams that got a new event (their projection must be recomputed)."""
        keys: set[StreamKey] = set()
        for raw, event in self.new:
            stream_id = ev.stream_id_of(event)
            if stream_id is not None:
                keys.add((raw.contract_id, stream_id))
        return keys


def insert_events(
    session: Session,
    pairs: Sequence[tuple[RawEvent, ev.DomainEvent]],
    *,
    source: str,
    now: datetime,
) -> Stored:
    """Insert the events that are not stored yet; report which were new."""
    result = Stored()
    if not pairs:
        return result
    rows = [
        {
            "contract_id": raw.contract_id,
            "ledger": raw.ledger,
            "ledger_closed_at": raw.ledger_closed_at,
            "tx_hash": raw.tx_hash,
            "tx_index": raw.tx_index,
            "op_index": raw.op_index,
            "event_index": raw.event_index,
            "event_type": event.kind,
            "stream_id": ev.stream_id_of(event),
            "topic_xdr": list(raw.topic_xdr),
            "value_xdr": raw.value_xdr,
            "decoded": ev.to_json(event),
            "source": source,
            "ingested_at": now,
        }
        for raw, event in pairs
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(ContractEvent)
        .on_conflict_do_nothing(index_elements=["tx_hash", "event_index"])
        .returning(ContractEvent.tx_hash, ContractEvent.event_index)
    )
    inserted = {(h, i) for h, i in session.execute(statement, rows)}
    for raw, event in pairs:
        if (raw.tx_hash, raw.event_index) in inserted:
            result.new.append((raw, event))
            if isinstance(event, ev.UnknownEvent):
                result.undecoded += 1
        else:
            result.duplicate += 1
    return result


def stream_events(session: Session, keys: set[StreamKey]) -> dict[StreamKey, list[ContractEvent]]:
    """All stored events of each stream in ``keys``, grouped by stream."""
    grouped: dict[StreamKey, list[ContractEvent]] = {key: [] for key in keys}
    if not keys:
        return grouped
    key_list = sorted(keys)
    for start in range(0, len(key_list), 500):
        chunk = key_list[start : start + 500]
        query = select(ContractEvent).where(
            tuple_(ContractEvent.contract_id, ContractEvent.stream_id).in_(chunk)
        )
        for row in session.scalars(query):
            assert row.stream_id is not None
            grouped[(row.contract_id, row.stream_id)].append(row)
    return grouped
