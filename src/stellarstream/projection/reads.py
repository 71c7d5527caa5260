"""The stored events and ``streams`` rows a rebuild reads, as plain rows through the driver."""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterator
from typing import Any, NamedTuple

from sqlalchemy import Dialect, Table, Text, bindparam, cast, func, select
from sqlalchemy.orm import Session

from stellarstream.db.models import ContractEventRow, Stream

StreamKey = tuple[str, int]  # (contract_id, stream_id)
_EVENTS = typing.cast(Table, ContractEventRow.__table__)


class StoredEvent(NamedTuple):
    """Where a stored event happened, and its ``decoded`` column as JSON text."""

    ledger: int
    tx_index: int
    op_index: int
    event_index: int
    tx_hash: str
    decoded_json: str


def stream_events(session: Session, keys: set[StreamKey]) -> dict[StreamKey, list[StoredEvent]]:
    """All stored events of each stream in ``keys``, grouped by stream.

    Plain rows, not ORM objects, with ``decoded`` left as text: a caller that already holds an
    event decoded (the batch it just stored) skips parsing it again.
    """
    grouped: dict[StreamKey, list[StoredEvent]] = {key: [] for key in keys}
    c = _EVENTS.c
    columns = (c.ledger, c.tx_index, c.op_index, c.event_index, c.tx_hash, cast(c.decoded, Text))
    for contract_id, stream_ids in _by_contract(keys):
        query = select(c.stream_id, *columns).where(
            c.contract_id == contract_id, c.stream_id.in_(stream_ids)
        )
        for stream_id, *rest in session.execute(query).all():
            grouped[(contract_id, stream_id)].append(StoredEvent(*rest))
    return grouped


def event_counts(session: Session, keys: set[StreamKey]) -> dict[StreamKey, int]:
    """How many events are stored for each stream in ``keys`` (an index-only count)."""
    counts = dict.fromkeys(keys, 0)
    c = _EVENTS.c
    for contract_id, stream_ids in _by_contract(keys):
        query = (
            select(c.stream_id, func.count())
            .where(c.contract_id == contract_id, c.stream_id.in_(stream_ids))
            .group_by(c.stream_id)
        )
        for stream_id, count in session.execute(query).all():
            counts[(contract_id, stream_id)] = count
    return counts


def stream_rows(session: Session, keys: set[StreamKey]) -> dict[StreamKey, dict[str, Any]]:
    """The ``streams`` rows of those of ``keys`` that have one, as :func:`project` returns them.

    Read through the driver with the columns' own result conversions: SQLAlchemy's result rows
    and mappings cost more than the query (a sync reads a row for most events it stores).
    """
    connection = session.connection()
    dialect = connection.dialect
    names = [column.name for column in _STREAM_COLUMNS]
    stream_id_at = names.index("stream_id")
    rows: dict[StreamKey, dict[str, Any]] = {}
    for contract_id, stream_ids in _by_contract(keys):
        sql, positional = _stream_rows_sql(dialect, len(stream_ids))
        values = [contract_id, *stream_ids]
        params = tuple(values) if positional else {f"p{i}": v for i, v in enumerate(values)}
        result = connection.exec_driver_sql(sql, params)
        convert = _result_processors(dialect, result.cursor.description)
        for found in result.fetchall():
            row = list(found)
            for i, process in convert:
                row[i] = process(row[i])
            rows[(contract_id, row[stream_id_at])] = dict(zip(names, row, strict=True))
    return rows


_STREAMS = typing.cast(Table, Stream.__table__)
_STREAM_COLUMNS = [column for column in _STREAMS.c if column.name != "id"]


_PROCESSORS: dict[tuple[str, tuple[Any, ...]], list[tuple[int, Any]]] = {}


def _result_processors(dialect: Dialect, description: Any) -> list[tuple[int, Any]]:
    """(index, conversion) of the stream columns whose values the driver's differ from."""
    # The driver's type of each column (PostgreSQL's OIDs) picks the conversion.
    types = tuple(d[1] for d in description)
    key = (dialect.name, types)
    convert = _PROCESSORS.get(key)
    if convert is None:
        convert = []
        for i, column in enumerate(_STREAM_COLUMNS):
            impl = column.type.dialect_impl(dialect)
            process = impl.result_processor(dialect, types[i])
            if process is not None:
                convert.append((i, process))
        _PROCESSORS[key] = convert
    return convert


@functools.cache
def _stream_rows_sql(dialect: Dialect, count: int) -> tuple[str, bool]:
    """SELECT of the stream columns for one contract and ``count`` stream ids (bound ``p0``,
    ``p1``...), and whether the driver takes them by position."""
    ids = [bindparam(f"p{i + 1}", type_=_STREAMS.c.stream_id.type) for i in range(count)]
    query = select(*_STREAM_COLUMNS).where(
        _STREAMS.c.contract_id == bindparam("p0", type_=_STREAMS.c.contract_id.type),
        _STREAMS.c.stream_id.in_(ids),
    )
    compiled = query.compile(dialect=dialect)
    if compiled.positiontup is not None:
        assert compiled.positiontup == [f"p{i}" for i in range(count + 1)]
    return compiled.string, compiled.positiontup is not None


def _by_contract(keys: set[StreamKey], size: int = 500) -> Iterator[tuple[str, list[int]]]:
    # "contract_id = ? AND stream_id IN (...)", not a (contract_id, stream_id) row-value IN:
    # SQLite answers that by scanning the whole index, so every batch got slower as the table
    # grew.
    by_contract: dict[str, list[int]] = {}
    for contract_id, stream_id in sorted(keys):
        by_contract.setdefault(contract_id, []).append(stream_id)
    for contract_id, stream_ids in by_contract.items():
        for start in range(0, len(stream_ids), size):
            yield contract_id, stream_ids[start : start + size]
