"""Stream lookups and keyset pages: one stream, filtered lists, a stream's events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Row, Select, and_, bindparam, func, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from stellarstream.chain.stream_ids import parse_public_id
from stellarstream.db.models import ContractEventRow, InvoiceLink, Stream
from stellarstream.errors import NotFound
from stellarstream.pagination import check_limit, decode_cursor, encode_cursor, invalid_cursor
from stellarstream.streams.pause import paused_contracts
from stellarstream.streams.view import StreamStatus


class Sort(StrEnum):
    CREATED_DESC = "created_desc"
    CREATED_ASC = "created_asc"
    END_DESC = "end_desc"
    END_ASC = "end_asc"
    AMOUNT_DESC = "amount_desc"
    AMOUNT_ASC = "amount_asc"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class StreamFilters:
    sender: str | None = None
    receiver: str | None = None
    address: str | None = None
    direction: Direction = Direction.BOTH
    status: StreamStatus | None = None
    token: str | None = None
    contract: str | None = None


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


_STREAMS = Stream.__table__
_LINKS = InvoiceLink.__table__
_SORT_COLUMNS: dict[str, Any] = {
    "created": _STREAMS.c.created_ledger,
    "end": _STREAMS.c.end_time,
    "amount": _STREAMS.c.total_amount,
}
_CHAIN_ORDER = (
    ContractEventRow.ledger,
    ContractEventRow.tx_index,
    ContractEventRow.op_index,
    ContractEventRow.event_index,
)

# The data version: a value that changes whenever stream rows, the pause state or the /stats
# figures may have, except through the clock: the newest contract_events id (one probe of the
# primary key), read by the same statement as the rows it goes with. Every stored event takes a
# new id, and those change only in the transaction that stores their events
# (ingest.record.ingest_batch). The one exception: two writers at once (the live indexer and
# a backfill), when the one holding lower ids commits second; its events then show within the
# caches' max age.
DATA_VERSION = select(func.coalesce(func.max(ContractEventRow.id), 0)).scalar_subquery()


def _stream_rows(*, with_slug: bool) -> Select[Any]:
    """Every ``streams`` column and the data version (``data_version``); ``with_slug``: also
    the slug of the invoice the stream paid (``invoice_slug``: memo = slug and the link
    records this stream). Lists look slugs up for their page alone: joined before the sort
    and limit, the planner may read every link (a hash join)."""
    columns = select(*_STREAMS.c, DATA_VERSION.label("data_version"))
    if not with_slug:
        return columns
    paid = and_(_LINKS.c.slug == _STREAMS.c.memo, _LINKS.c.stream_id == _STREAMS.c.stream_id)
    return columns.add_columns(_LINKS.c.slug.label("invoice_slug")).select_from(
        _STREAMS.outerjoin(_LINKS, paid)
    )


# One stream by its key (bind params contract_id, stream_id): also sent as is by db.hot.
ONE_STREAM = _stream_rows(with_slug=True).where(
    _STREAMS.c.contract_id == bindparam("contract_id"),
    _STREAMS.c.stream_id == bindparam("stream_id"),
)


# --- one stream -----------------------------------------------------------------------------


def stream_row(conn: Connection, public: str, contract_ids: list[str]) -> Row[Any]:
    """One stream as a row of :func:`_stream_rows` (a single statement), or NotFound."""
    contract_id, stream_id = parse_public_id(public, contract_ids)
    row = conn.execute(ONE_STREAM, {"contract_id": contract_id, "stream_id": stream_id}).first()
    if row is None:
        raise NotFound(f"no stream {public!r}")
    return row


def get(session: Session, public: str, contract_ids: list[str]) -> Stream:
    """One stream as an ORM object, or NotFound."""
    contract_id, stream_id = parse_public_id(public, contract_ids)
    stream = session.scalar(
        select(Stream).where(Stream.contract_id == contract_id, Stream.stream_id == stream_id)
    )
    if stream is None:
        raise NotFound(f"no stream {public!r}")
    return stream


def invoice_slugs(
    session: Connection | Session, streams: Sequence[Stream | Row[Any]]
) -> dict[int, str]:
    """Stream row id -> slug of the invoice it paid (memo = slug and recorded on the link)."""
    memos = {s.memo for s in streams if s.memo}
    if not memos:
        return {}
    links = session.execute(
        select(InvoiceLink.slug, InvoiceLink.stream_id).where(InvoiceLink.slug.in_(memos))
    ).all()
    paid = {(slug, stream_id) for slug, stream_id in links}
    return {s.id: s.memo for s in streams if s.memo and (s.memo, s.stream_id) in paid}


# --- lists ----------------------------------------------------------------------------------


def list_streams(
    conn: Connection,
    filters: StreamFilters,
    *,
    sort: Sort,
    limit: int,
    cursor: str | None,
    now: Callable[[], int],
) -> Page[Row[Any]]:
    """Keyset-paginated streams (rows of :func:`_stream_rows`, without the slug); stable
    under concurrent inserts. ``now`` is asked only by a status filter."""
    check_limit(limit)
    key, order = sort.value.split("_")
    column = _SORT_COLUMNS[key]
    query = _stream_rows(with_slug=False).where(*_conditions(conn, filters, now))
    if cursor is not None:
        value, last_id = decode_cursor(cursor, (str, int))
        try:
            bound = int(value)
        except ValueError as exc:
            raise invalid_cursor() from exc
        position = tuple_(column, _STREAMS.c.id)
        query = query.where(
            position < (bound, last_id) if order == "desc" else position > (bound, last_id)
        )
    if order == "desc":
        query = query.order_by(column.desc(), _STREAMS.c.id.desc())
    else:
        query = query.order_by(column.asc(), _STREAMS.c.id.asc())
    rows = list(conn.execute(query.limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(str(getattr(last, column.key)), last.id)
    return Page(rows, next_cursor)


def _conditions(
    session: Connection, f: StreamFilters, now: Callable[[], int]
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if f.sender:
        conditions.append(_STREAMS.c.sender == f.sender)
    if f.receiver:
        conditions.append(_STREAMS.c.receiver == f.receiver)
    if f.address:
        if f.direction is Direction.IN:
            conditions.append(_STREAMS.c.receiver == f.address)
        elif f.direction is Direction.OUT:
            conditions.append(_STREAMS.c.sender == f.address)
        else:
            conditions.append(or_(_STREAMS.c.sender == f.address, _STREAMS.c.receiver == f.address))
    if f.token:
        conditions.append(_STREAMS.c.token == f.token)
    if f.contract:
        conditions.append(_STREAMS.c.contract_id == f.contract)
    if f.status:
        conditions.append(_status_condition(f.status, now(), list(paused_contracts(session))))
    return conditions


def _status_condition(
    status: StreamStatus, now: int, paused_contracts: list[str]
) -> ColumnElement[bool]:
    paused = or_(
        _STREAMS.c.paused.is_(True),
        and_(_STREAMS.c.version == 2, _STREAMS.c.contract_id.in_(paused_contracts)),
    )
    live = and_(_STREAMS.c.archived.is_(False), _STREAMS.c.cancelled.is_(False))
    match status:
        case StreamStatus.ARCHIVED:
            return _STREAMS.c.archived.is_(True)
        case StreamStatus.CANCELED:
            return and_(_STREAMS.c.archived.is_(False), _STREAMS.c.cancelled.is_(True))
        case StreamStatus.PAUSED:
            return and_(live, paused)
        case StreamStatus.COMPLETED:
            return and_(live, ~paused, _STREAMS.c.end_time <= now)
        case StreamStatus.ACTIVE:
            return and_(live, ~paused, _STREAMS.c.end_time > now)


# --- events ---------------------------------------------------------------------------------


def events(
    session: Session, stream: Stream, *, limit: int, cursor: str | None
) -> Page[ContractEventRow]:
    """The stream's events in chain order."""
    check_limit(limit)
    query = select(ContractEventRow).where(
        ContractEventRow.contract_id == stream.contract_id,
        ContractEventRow.stream_id == stream.stream_id,
    )
    if cursor is not None:
        last = decode_cursor(cursor, (int, int, int, int))
        query = query.where(tuple_(*_CHAIN_ORDER) > tuple(last))
    rows = list(session.scalars(query.order_by(*_CHAIN_ORDER).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        e = rows[-1]
        next_cursor = encode_cursor(e.ledger, e.tx_index, e.op_index, e.event_index)
    return Page(rows, next_cursor)


def events_after(
    session: Session, after_id: int, *, address: str | None = None, stream: Stream | None = None
) -> list[ContractEventRow]:
    """Events stored after row ``after_id`` (for live updates), oldest first."""
    query = select(ContractEventRow).where(
        ContractEventRow.id > after_id, ContractEventRow.stream_id.is_not(None)
    )
    if stream is not None:
        query = query.where(
            ContractEventRow.contract_id == stream.contract_id,
            ContractEventRow.stream_id == stream.stream_id,
        )
    rows = list(session.scalars(query.order_by(ContractEventRow.id).limit(500)))
    if address is None:
        return rows
    keys = {(e.contract_id, e.stream_id) for e in rows}
    if not keys:
        return []
    mine = set(
        session.execute(
            select(Stream.contract_id, Stream.stream_id).where(
                tuple_(Stream.contract_id, Stream.stream_id).in_(list(keys)),
                or_(Stream.sender == address, Stream.receiver == address),
            )
        ).all()
    )
    return [e for e in rows if (e.contract_id, e.stream_id) in mine]


def last_event_id(session: Session) -> int:
    """The newest stored event's row id (0: none yet)."""
    return int(session.scalar(select(func.coalesce(func.max(ContractEventRow.id), 0))) or 0)
