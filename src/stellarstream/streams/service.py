"""The stream reads as one object for the API: this process's clock, contracts and caches,
bound to the queries of :mod:`.queries`, :mod:`.pause`, :mod:`.search` and :mod:`.stats`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy.orm import Session, sessionmaker

from stellarstream.clock import Clock
from stellarstream.db.models import ContractEventRow, Stream
from stellarstream.streams import pause, queries, search, stats
from stellarstream.streams.cache import VersionedCache
from stellarstream.streams.queries import Page, Sort, StreamFilters
from stellarstream.streams.stats import Stats, SyncStatus


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
        """:func:`.pause.paused_at` with this process's pause cache."""
        return pause.paused_at(conn, version, self._pause_cache)

    def paused_contracts(
        self, session: Connection | Session, contract_ids: Iterable[str] | None = None
    ) -> frozenset[str]:
        """:func:`.pause.paused_contracts` (looked up now)."""
        return pause.paused_contracts(session, contract_ids)

    def stream_row(self, conn: Connection, public: str) -> Row[Any]:
        return queries.stream_row(conn, public, self._contract_ids)

    def get(self, session: Session, public: str) -> Stream:
        return queries.get(session, public, self._contract_ids)

    def invoice_slugs(
        self, session: Connection | Session, streams: Sequence[Stream | Row[Any]]
    ) -> dict[int, str]:
        return queries.invoice_slugs(session, streams)

    def list_streams(
        self,
        conn: Connection,
        filters: StreamFilters,
        *,
        sort: Sort,
        limit: int,
        cursor: str | None,
    ) -> Page[Row[Any]]:
        return queries.list_streams(
            conn, filters, sort=sort, limit=limit, cursor=cursor, now=self.now
        )

    def events(
        self, session: Session, stream: Stream, *, limit: int, cursor: str | None
    ) -> Page[ContractEventRow]:
        return queries.events(session, stream, limit=limit, cursor=cursor)

    def events_after(
        self,
        session: Session,
        after_id: int,
        *,
        address: str | None = None,
        stream: Stream | None = None,
    ) -> list[ContractEventRow]:
        return queries.events_after(session, after_id, address=address, stream=stream)

    def last_event_id(self, session: Session) -> int:
        return queries.last_event_id(session)

    def search(
        self, session: Session, q: str, *, limit: int, offset: int
    ) -> tuple[list[tuple[str, Stream]], bool]:
        return search.search(session, q, self._contract_ids, limit=limit, offset=offset)

    def stats(self, session: Session) -> Stats:
        """:func:`.stats.stats` with this process's stats cache."""
        return stats.stats(session, self._stats_cache, self.now)

    def sync_status(self, session: Session) -> list[SyncStatus]:
        return stats.sync_status(session, self._contract_ids)
