"""Stream queries: lists, one stream, its events, search, stats, sync status."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Row, Select, and_, bindparam, func, or_, select, tuple_
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from stellarstream.chain.source import LIVE_SOURCE
from stellarstream.clock import Clock
from stellarstream.db import coverage
from stellarstream.db.models import (
    PAUSE_EVENT_TYPES,
    ContractEvent,
    InvoiceLink,
    Stream,
    SyncState,
)
from stellarstream.errors import NotFound, ValidationError
from stellarstream.pagination import check_limit, decode_cursor, encode_cursor, invalid_cursor
from stellarstream.streams import totals
from stellarstream.streams.cache import VersionedCache
from stellarstream.streams.ids import parse_public_id
from stellarstream.streams.totals import TokenStats
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


_STREAMS = Stream.__table__
_LINKS = InvoiceLink.__table__
_SORT_COLUMNS: dict[str, Any] = {
    "created": _STREAMS.c.created_ledger,
    "end": _STREAMS.c.end_time,
    "amount": _STREAMS.c.total_amount,
}


# Literal values, not bound parameters: the partial index's predicate must be provable from the
# statement itself (PostgreSQL generic plans, SQLite's planner).
_PAUSE_EVENTS = ContractEvent.event_type.in_(
    bindparam("pause_event_types", PAUSE_EVENT_TYPES, expanding=True, literal_execute=True)
)


# The data version: a value that changes whenever stream rows, the pause state or the /stats
# figures may have, except through the clock: the newest contract_events id (one probe of the
# primary key), read by the same statement as the rows it goes with. Every stored event takes a
# new id, and those change only in the transaction that stores their events
# (ingest.pipeline.ingest_batch). The one exception: two writers at once (the live indexer and
# a backfill), when the one holding lower ids commits second; its events then show within the
# caches' max age.
_DATA_VERSION = select(func.coalesce(func.max(ContractEvent.id), 0)).scalar_subquery()


def _stream_rows(*, with_slug: bool) -> Select[Any]:
    """Every ``streams`` column and the data version (``data_version``); ``with_slug``: also
    the slug of the invoice the stream paid (``invoice_slug``: memo = slug and the link
    records this stream). Lists look slugs up for their page alone: joined before the sort
    and limit, the planner may read every link (a hash join)."""
    columns = select(*_STREAMS.c, _DATA_VERSION.label("data_version"))
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
# The version and the live checkpoint's ledgers in one round trip (an aggregate: always a row).
_STATS_PROBE = select(
    _DATA_VERSION, func.max(SyncState.ledger), func.max(SyncState.latest_ledger)
).where(SyncState.source == LIVE_SOURCE)


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


@dataclass(frozen=True, slots=True)
class Stats:
    total: int
    active: int
    completed: int
    canceled: int
    paused: int
    archived: int
    unique_senders: int
    unique_receivers: int
    tokens: list[TokenStats]
    latest_ledger: int | None
    network_latest_ledger: int | None
    as_of: int  # the clock when the counts and sums were computed (Unix seconds)


@dataclass(frozen=True, slots=True)
class SyncStatus:
    contract_id: str
    last_ingested_ledger: int | None
    network_latest_ledger: int | None
    updated_at: Any
    gaps: list[tuple[int, int]]


class StreamService:
    """Read-only queries over the stream projection and stored events."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        contract_ids: list[str],
        stats_cache: VersionedCache[Stats] | None = None,
        pause_cache: VersionedCache[frozenset[str]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._contract_ids = contract_ids
        self._stats_cache = stats_cache  # per process (create_app); None: computed every time
        self._pause_cache = pause_cache  # per process too

    def now(self) -> int:
        return int(self._clock().timestamp())

    def paused_at(self, conn: Connection | Session, version: int) -> frozenset[str]:
        """V2 contracts paused as a whole, for rows read with data version ``version``.

        Pause state changes only with a stored event, so this process reuses what it last
        looked up while the version is the same (and for at most the cache's max age: see
        ``_DATA_VERSION`` for the one way an event can show late). No cache: looked up now.
        """
        if self._pause_cache is None:
            return self.paused_contracts(conn)
        return self._pause_cache.get(version, lambda _now: self.paused_contracts(conn))

    def paused_contracts(
        self, session: Connection | Session, contract_ids: Iterable[str] | None = None
    ) -> frozenset[str]:
        """V2 contracts whose latest pause/unpause event is a pause.

        Among ``contract_ids`` if given (enough to test the membership of those contracts),
        else among every contract with stored events. One probe per contract of the partial
        index ``ix_contract_events_pause`` (only pause/unpause rows, in chain order), whatever
        else the contract emitted. Its predicate is rendered as literals so that PostgreSQL's
        generic plans of prepared statements can still prove it (a bound parameter cannot).
        Pause and unpause are V2's contract-wide events (V1's per-stream pause is ``v1_pause``).
        """
        candidates = (
            self._event_contracts(session) if contract_ids is None else sorted(set(contract_ids))
        )
        paused = []
        for contract_id in candidates:
            latest = session.scalar(
                select(ContractEvent.event_type)
                .where(ContractEvent.contract_id == contract_id, _PAUSE_EVENTS)
                .order_by(
                    ContractEvent.ledger.desc(),
                    ContractEvent.tx_index.desc(),
                    ContractEvent.op_index.desc(),
                    ContractEvent.event_index.desc(),
                )
                .limit(1)
            )
            if latest == "pause":
                paused.append(contract_id)
        return frozenset(paused)

    def _event_contracts(self, session: Connection | Session) -> list[str]:
        """Every contract with stored events: one index probe per contract (a skip scan)."""
        found: list[str] = []
        while True:
            query = select(func.min(ContractEvent.contract_id))
            if found:
                query = query.where(ContractEvent.contract_id > found[-1])
            contract_id = session.scalar(query)
            if contract_id is None:
                return found
            found.append(contract_id)

    # --- one stream ---------------------------------------------------------------------

    def stream_row(self, conn: Connection, public: str) -> Row[Any]:
        """One stream as a row of :func:`_stream_rows` (a single statement), or NotFound."""
        contract_id, stream_id = parse_public_id(public, self._contract_ids)
        row = conn.execute(ONE_STREAM, {"contract_id": contract_id, "stream_id": stream_id}).first()
        if row is None:
            raise NotFound(f"no stream {public!r}")
        return row

    def get(self, session: Session, public: str) -> Stream:
        contract_id, stream_id = parse_public_id(public, self._contract_ids)
        stream = session.scalar(
            select(Stream).where(Stream.contract_id == contract_id, Stream.stream_id == stream_id)
        )
        if stream is None:
            raise NotFound(f"no stream {public!r}")
        return stream

    def invoice_slugs(
        self, session: Connection | Session, streams: Sequence[Stream | Row[Any]]
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

    # --- lists --------------------------------------------------------------------------

    def list_streams(
        self,
        conn: Connection,
        filters: StreamFilters,
        *,
        sort: Sort,
        limit: int,
        cursor: str | None,
    ) -> Page[Row[Any]]:
        """Keyset-paginated streams (rows of :func:`_stream_rows`, without the slug); stable
        under concurrent inserts."""
        check_limit(limit)
        key, order = sort.value.split("_")
        column = _SORT_COLUMNS[key]
        query = _stream_rows(with_slug=False).where(*self._conditions(conn, filters))
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

    def _conditions(self, session: Connection, f: StreamFilters) -> list[ColumnElement[bool]]:
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
                conditions.append(
                    or_(_STREAMS.c.sender == f.address, _STREAMS.c.receiver == f.address)
                )
        if f.token:
            conditions.append(_STREAMS.c.token == f.token)
        if f.contract:
            conditions.append(_STREAMS.c.contract_id == f.contract)
        if f.status:
            conditions.append(self._status_condition(session, f.status))
        return conditions

    def _status_condition(
        self,
        session: Connection | Session,
        status: StreamStatus,
        *,
        now: int | None = None,
        paused_contracts: list[str] | None = None,
    ) -> ColumnElement[bool]:
        now = self.now() if now is None else now
        if paused_contracts is None:
            paused_contracts = list(self.paused_contracts(session))
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

    # --- events -------------------------------------------------------------------------

    def events(
        self, session: Session, stream: Stream, *, limit: int, cursor: str | None
    ) -> Page[ContractEvent]:
        """The stream's events in chain order."""
        check_limit(limit)
        order = (
            ContractEvent.ledger,
            ContractEvent.tx_index,
            ContractEvent.op_index,
            ContractEvent.event_index,
        )
        query = select(ContractEvent).where(
            ContractEvent.contract_id == stream.contract_id,
            ContractEvent.stream_id == stream.stream_id,
        )
        if cursor is not None:
            last = decode_cursor(cursor, (int, int, int, int))
            query = query.where(tuple_(*order) > tuple(last))
        rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            e = rows[-1]
            next_cursor = encode_cursor(e.ledger, e.tx_index, e.op_index, e.event_index)
        return Page(rows, next_cursor)

    def events_after(
        self,
        session: Session,
        after_id: int,
        *,
        address: str | None = None,
        stream: Stream | None = None,
    ) -> list[ContractEvent]:
        """Events stored after row ``after_id`` (for live updates), oldest first."""
        query = select(ContractEvent).where(
            ContractEvent.id > after_id, ContractEvent.stream_id.is_not(None)
        )
        if stream is not None:
            query = query.where(
                ContractEvent.contract_id == stream.contract_id,
                ContractEvent.stream_id == stream.stream_id,
            )
        rows = list(session.scalars(query.order_by(ContractEvent.id).limit(500)))
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

    def last_event_id(self, session: Session) -> int:
        return int(session.scalar(select(func.coalesce(func.max(ContractEvent.id), 0))) or 0)

    # --- search -------------------------------------------------------------------------

    def search(
        self, session: Session, q: str, *, limit: int, offset: int
    ) -> tuple[list[tuple[str, Stream]], bool]:
        """Streams matching ``q``, ranked: id, tx hash, exact address, token, address prefix."""
        check_limit(limit)
        q = q.strip()
        if len(q) < 1:
            raise ValidationError("q must not be empty", field="q")
        ranked: list[tuple[str, ColumnElement[bool]]] = []
        if q.isdigit() and len(self._contract_ids) == 1 and int(q) < 2**63:
            ranked.append(
                (
                    "id",
                    and_(Stream.contract_id == self._contract_ids[0], Stream.stream_id == int(q)),
                )
            )
        elif "-" in q:
            try:
                contract_id, stream_id = parse_public_id(q, self._contract_ids)
            except ValidationError:
                pass
            else:
                if stream_id < 2**63:
                    ranked.append(
                        (
                            "id",
                            and_(Stream.contract_id == contract_id, Stream.stream_id == stream_id),
                        )
                    )
        lowered = q.lower()
        if len(lowered) == 64 and all(c in "0123456789abcdef" for c in lowered):
            tx_streams = select(ContractEvent.contract_id, ContractEvent.stream_id).where(
                ContractEvent.tx_hash == lowered, ContractEvent.stream_id.is_not(None)
            )
            ranked.append(("tx", tuple_(Stream.contract_id, Stream.stream_id).in_(tx_streams)))
        upper = q.upper()
        if len(upper) == 56 and upper[0] in "GC":
            ranked.append(("address", or_(Stream.sender == upper, Stream.receiver == upper)))
            ranked.append(("token", Stream.token == upper))
        elif len(upper) >= 5 and upper[0] in "GC" and upper.isalnum():
            prefix = upper + "%"
            ranked.append(
                ("address_prefix", or_(Stream.sender.like(prefix), Stream.receiver.like(prefix)))
            )
        elif len(q) < 5 and not q.isdigit():
            raise ValidationError(
                "q must be a stream id, tx hash, address, or 5+ character address prefix", field="q"
            )
        seen: set[int] = set()
        results: list[tuple[str, Stream]] = []
        wanted = offset + limit + 1
        for reason, condition in ranked:
            query = (
                select(Stream)
                .where(condition)
                .order_by(Stream.created_ledger.desc(), Stream.id.desc())
                .limit(wanted)
            )
            for stream in session.scalars(query):
                if stream.id not in seen:
                    seen.add(stream.id)
                    results.append((reason, stream))
            if len(results) >= wanted:
                break
        page = results[offset : offset + limit]
        return page, len(results) > offset + limit

    # --- stats and sync -----------------------------------------------------------------

    def stats(self, session: Session) -> Stats:
        """Counts and sums over every stream, computed at ``as_of``; the indexer's ledgers now.

        With a stats cache, the counts and sums last computed in this process are served again
        while the data version (``_DATA_VERSION``) is unchanged and they are at most its max
        age old. The ledgers (a few checkpoint rows) are read on every request: the live
        indexer moves them on every poll, new events or not, and they must not make the counts
        be recomputed.
        """
        cache = self._stats_cache
        if cache is None or cache.max_age_seconds <= 0:
            return self._compute_stats(session, self.now())
        # One round trip on a cache hit; the version is read first: see VersionedCache.get.
        version, latest, network = session.execute(_STATS_PROBE).one()
        figures = cache.get(int(version), lambda now: self._compute_stats(session, int(now)))
        return replace(figures, latest_ledger=latest, network_latest_ledger=network or None)

    def _ledgers(self, session: Session) -> tuple[int | None, int | None]:
        """The live checkpoint's ledger and the network's latest ledger it last saw."""
        states = session.execute(
            select(SyncState.ledger, SyncState.latest_ledger).where(SyncState.source == LIVE_SOURCE)
        ).all()
        latest = max((ledger for ledger, _ in states), default=None)
        network = max((seen or 0 for _, seen in states), default=None) or None
        return latest, network

    def _compute_stats(self, session: Session, now: int) -> Stats:
        # From the totals the projection keeps (streams.totals): a few hundred rows and the
        # streams ending today, not a scan of every stream.
        figures = totals.figures(session, now, self.paused_contracts(session))
        counts = figures.counts
        latest, network = self._ledgers(session)
        return Stats(
            total=sum(counts.values()),
            active=counts[StreamStatus.ACTIVE],
            completed=counts[StreamStatus.COMPLETED],
            canceled=counts[StreamStatus.CANCELED],
            paused=counts[StreamStatus.PAUSED],
            archived=counts[StreamStatus.ARCHIVED],
            unique_senders=figures.unique_senders,
            unique_receivers=figures.unique_receivers,
            tokens=figures.tokens,
            latest_ledger=latest,
            network_latest_ledger=network,
            as_of=now,
        )

    def sync_status(self, session: Session) -> list[SyncStatus]:
        states = {
            s.contract_id: s
            for s in session.scalars(select(SyncState).where(SyncState.source == LIVE_SOURCE))
        }
        contracts = sorted(set(self._contract_ids) | set(states))
        out = []
        for c in contracts:
            stored = coverage.covered(session, c)
            gaps = coverage.gaps(stored, stored[0][0], stored[-1][1]) if stored else []
            out.append(
                SyncStatus(
                    contract_id=c,
                    last_ingested_ledger=states[c].ledger if c in states else None,
                    network_latest_ledger=states[c].latest_ledger if c in states else None,
                    updated_at=states[c].updated_at if c in states else None,
                    gaps=gaps,
                )
            )
        return out

    def export_rows(self, session: Session, address: str) -> Iterator[tuple[Stream, ContractEvent]]:
        """Every event of the address's streams, stream by stream, in chain order."""
        streams = session.scalars(
            select(Stream)
            .where(or_(Stream.sender == address, Stream.receiver == address))
            .order_by(Stream.created_ledger, Stream.id)
        )
        for stream in streams:
            events = session.scalars(
                select(ContractEvent)
                .where(
                    ContractEvent.contract_id == stream.contract_id,
                    ContractEvent.stream_id == stream.stream_id,
                )
                .order_by(
                    ContractEvent.ledger,
                    ContractEvent.tx_index,
                    ContractEvent.op_index,
                    ContractEvent.event_index,
                )
            )
            for event in events:
                yield stream, event
