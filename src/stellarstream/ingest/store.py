"""Store every contract event once: insert-or-ignore on ``(tx_hash, event_index)``."""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from stellarstream import jsontext
from stellarstream.chain import events as ev
from stellarstream.chain.types import RawEvent
from stellarstream.db.bulk import BulkStatement
from stellarstream.db.models import ContractEventRow
from stellarstream.projection.reads import StreamKey

_EVENTS = typing.cast(Table, ContractEventRow.__table__)


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


INSERT_CHUNK = 2_000
"""Rows built and sent per statement: bounds the memory of a large batch's parameters."""


def insert_events(
    session: Session,
    pairs: Sequence[tuple[RawEvent, ev.DomainEvent]],
    *,
    source: str,
    now: datetime,
) -> Stored:
    """Insert the events that are not stored yet; report which were new.

    Each keeps its topics and value in the form its source delivered: base64 XDR
    (``topic_xdr``, ``value_xdr``) or XDR-JSON (``raw_json``).
    """
    result = Stored()
    if not pairs:
        return result
    dialect = session.get_bind().dialect
    # The column type's full processing for this database (SQLite: a naive UTC text).
    time_type = _EVENTS.c.ingested_at.type.dialect_impl(dialect)
    process_time = time_type.bind_processor(dialect) or _same
    times: dict[datetime, Any] = {}  # one ledger's events share their close time
    ingested = process_time(now)
    inserted: set[tuple[str, int]] = set()
    for start in range(0, len(pairs), INSERT_CHUNK):
        chunk = pairs[start : start + INSERT_CHUNK]
        rows: list[dict[str, Any]] = []
        for raw, event in chunk:
            as_json = raw.value_json is not None
            closed_at = times.get(raw.ledger_closed_at)
            if closed_at is None:
                closed_at = times[raw.ledger_closed_at] = process_time(raw.ledger_closed_at)
            rows.append(
                {
                    "contract_id": raw.contract_id,
                    "ledger": raw.ledger,
                    "closed_at": closed_at,
                    "tx_hash": raw.tx_hash,
                    "tx_index": raw.tx_index,
                    "op_index": raw.op_index,
                    "event_index": raw.event_index,
                    "event_type": event.kind,
                    "stream_id": ev.stream_id_of(event),
                    "topic_json": None if as_json else _json_strings(raw.topic_xdr),
                    "value_xdr": None if as_json else raw.value_xdr,
                    "raw": _raw_json(raw) if as_json else None,
                    "decoded_json": jsontext.dumps(ev.to_json(event)),
                    "source": source,
                    "ingested": ingested,
                }
            )
        # Both ways skip SQLAlchemy's per-row parameter processing: values are prepared here.
        if dialect.name == "sqlite":
            inserted.update(_insert_sqlite(session, rows))
        else:
            inserted.update(_insert_postgresql(session, rows))
    for raw, event in pairs:
        if (raw.tx_hash, raw.event_index) in inserted:
            result.new.append((raw, event))
            if isinstance(event, ev.UnknownEvent):
                result.undecoded += 1
        else:
            result.duplicate += 1
    return result


_ROW_KEYS = {  # column -> its key in insert_events' rows, where they differ
    "ledger_closed_at": "closed_at",
    "topic_xdr": "topic_json",
    "raw_json": "raw",
    "decoded": "decoded_json",
    "ingested_at": "ingested",
}
_SQLITE_INSERT = BulkStatement(
    lambda _postgresql_or_sqlite: sqlite.insert(_EVENTS).on_conflict_do_nothing(
        index_elements=["tx_hash", "event_index"]
    ),
    [c.name for c in _EVENTS.c if c.name != "id"],
    raw=[c.name for c in _EVENTS.c],  # every value is prepared by insert_events
    keys=_ROW_KEYS,
)


def _insert_sqlite(session: Session, rows: list[dict[str, Any]]) -> Iterator[tuple[str, int]]:
    """Insert ``rows`` by executemany; the keys of those that were new.

    Python's sqlite3 returns no RETURNING rows from executemany, so new rows are told apart
    by their ids: the transaction holds SQLite's write lock (BEGIN IMMEDIATE), nothing else
    inserts meanwhile, and a new row's id is above every id before it. Usually all are new (the
    count of changes says so) and nothing is read back.
    """
    connection = session.connection()
    sqlite_connection = connection.connection.dbapi_connection
    assert sqlite_connection is not None
    before = session.execute(select(func.max(_EVENTS.c.id))).scalar() or 0
    changes = sqlite_connection.total_changes
    _SQLITE_INSERT.execute(session, rows)
    if sqlite_connection.total_changes - changes == len(rows):
        return ((row["tx_hash"], row["event_index"]) for row in rows)
    new = select(_EVENTS.c.tx_hash, _EVENTS.c.event_index).where(_EVENTS.c.id > before)
    return ((h, i) for h, i in session.execute(new))


_PG_COLUMNS = [c.name for c in _EVENTS.c if c.name != "id"]
_PG_STAGE = "stellarstream_events_in"  # a temporary table: each connection has its own


@functools.cache
def _pg_statements() -> tuple[Any, Any, Any, Any]:
    """CREATE of the staging table, COPY into it, INSERT from it, TRUNCATE of it."""
    from psycopg import sql  # here: a SQLite-only process need not load psycopg (~9 MB)

    columns = sql.SQL(", ").join(map(sql.Identifier, _PG_COLUMNS))
    stage = sql.Identifier(_PG_STAGE)
    create = sql.SQL(
        "CREATE TEMPORARY TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS "
        "SELECT {} FROM contract_events WITH NO DATA"
    ).format(stage, columns)
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(stage, columns)
    insert = sql.SQL(
        "INSERT INTO contract_events ({}) SELECT {} FROM {} "
        "ORDER BY ledger, tx_index, op_index, event_index "
        "ON CONFLICT (tx_hash, event_index) DO NOTHING RETURNING tx_hash, event_index"
    ).format(columns, columns, stage)
    return create, copy, insert, sql.SQL("TRUNCATE {}").format(stage)


def _insert_postgresql(session: Session, rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """COPY ``rows`` into a temporary table, then one INSERT ... SELECT of them that skips those
    stored already (``ON CONFLICT DO NOTHING``); the keys of those that were new.

    bench/sync.py: 2.5x faster than the multi-row INSERT ... RETURNING it replaces, whose
    statements psycopg parsed in Python 50 rows at a time.
    """
    connection: Any = session.connection().connection.dbapi_connection  # a psycopg Connection
    create, copy_in, insert, truncate = _pg_statements()
    keys = [_ROW_KEYS.get(name, name) for name in _PG_COLUMNS]
    with connection.cursor() as cursor:
        cursor.execute(create)
        with cursor.copy(copy_in) as copy:
            for row in rows:
                copy.write_row([row[key] for key in keys])
        cursor.execute(insert)
        new = [(tx_hash, event_index) for tx_hash, event_index in cursor.fetchall()]
        cursor.execute(truncate)
    return new


def _same(value: Any) -> Any:
    return value


def _raw_json(raw: RawEvent) -> str:
    # Built from the texts the source kept: {"topic":[...],"value":...}
    return '{"topic":[' + ",".join(raw.topic_json or ()) + '],"value":' + str(raw.value_json) + "}"


_BASE64 = re.compile(r"[A-Za-z0-9+/=]*").fullmatch


def _json_strings(values: tuple[str, ...]) -> str:
    """``jsontext.dumps(list(values))``, built directly when no value needs escaping (base64)."""
    if all(map(_BASE64, values)):
        return "[" + ",".join(f'"{value}"' for value in values) + "]"
    return jsontext.dumps(list(values))


def refresh_statistics(session: Session, inserted: int) -> bool:
    """On PostgreSQL, ``ANALYZE`` the events and streams tables if the events table never was
    analyzed, or if ``inserted`` (rows added by the caller so far) is over twice its estimated
    size; True if it did.

    Without statistics (a new database: autovacuum analyzes a minute or more later) the planner
    scans whole tables to find a few streams' events or rows (``projection.reads``), so each
    batch of a first sync got slower as the tables grew. Doubling keeps it to a few runs.
    """
    if session.get_bind().dialect.name != "postgresql":
        return False
    estimate = session.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = 'contract_events'::regclass")
    ).scalar()
    if estimate is not None and float(estimate) >= 0 and inserted <= 2 * float(estimate):
        return False
    session.execute(text("ANALYZE contract_events, streams"))
    return True
