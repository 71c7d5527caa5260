"""Stream counts and sums kept by the projection (``streams.totals`` reads ``/stats`` from them).

Scanning every stream for ``/stats`` took ~80 ms of PostgreSQL CPU at 100,000 streams. Instead,
the transaction that changes ``streams`` rows also adds their difference to ``stream_totals``
(count, total and withdrawn amounts per contract, token, version, state and UTC end day) and
``stream_parties`` (streams per sender and per receiver). A status that changes with the
clock alone (a live stream is ACTIVE until its end time, then COMPLETED) comes from the end
day: days before today are completed, later days active, and today's few streams are counted
from ``streams`` (the ``end_time`` index). The figures are exact at any instant, on both
databases, in time that grows with the number of rows here, not with the number of streams.

Sums are stored as amounts (i128), so one token's total volume must stay below 2**127.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import Table, delete, select, text, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from stellarstream.db.bulk import BulkStatement, InsertConstructor
from stellarstream.db.models import Stream, StreamParty, StreamTotal

log = structlog.get_logger(__name__)

DAY = 86_400
TotalKey = tuple[str, str, int, str, int]  # contract_id, token, version, state, end_day
PartyKey = tuple[str, str]  # role, address
_TOTALS = typing.cast(Table, StreamTotal.__table__)
_PARTIES = typing.cast(Table, StreamParty.__table__)
_LOCK = 0x5354_4154  # pg_advisory_xact_lock key: one writer of stream rows and totals at a time
_CHUNK = 500


def state_of(row: Mapping[str, Any]) -> tuple[str, int]:
    """A stream row's state in the totals and its end day (0 unless live)."""
    if row["archived"]:
        return "archived", 0
    if row["cancelled"]:
        return "canceled", 0
    if row["paused"]:
        return "paused", 0
    return "live", row["end_time"] // DAY


@dataclass(slots=True)
class Changes:
    """What changes to ``streams`` rows add to the totals (differences, not values)."""

    totals: dict[TotalKey, list[int]] = field(default_factory=dict)  # [streams, total, withdrawn]
    parties: dict[PartyKey, int] = field(default_factory=dict)

    def replace(self, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> None:
        """Record that the row ``old`` became ``new`` (None: absent before / deleted)."""
        if old is not None:
            self._add(old, -1)
        if new is not None:
            self._add(new, 1)

    def _add(self, row: Mapping[str, Any], sign: int) -> None:
        state, end_day = state_of(row)
        key = (row["contract_id"], row["token"], row["version"], state, end_day)
        entry = self.totals.setdefault(key, [0, 0, 0])
        entry[0] += sign
        entry[1] += sign * row["total_amount"]
        entry[2] += sign * row["withdrawn_amount"]
        for role in ("sender", "receiver"):
            party = (role, row[role])
            self.parties[party] = self.parties.get(party, 0) + sign


def _upsert(table: Table, keys: list[str], values: list[str]) -> BulkStatement:
    def build(insert: InsertConstructor) -> Insert:
        statement = insert(table)
        return statement.on_conflict_do_update(
            index_elements=keys, set_={c: statement.excluded[c] for c in values}
        )

    return BulkStatement(build, keys + values)


_TOTAL_KEY = ["contract_id", "token", "version", "state", "end_day"]
_UPSERT_TOTALS = _upsert(_TOTALS, _TOTAL_KEY, ["streams", "total_amount", "withdrawn_amount"])
_UPSERT_PARTIES = _upsert(_PARTIES, ["role", "address"], ["streams"])


def take_turn(session: Session) -> None:
    """Wait until no other transaction is writing stream rows or totals; hold that until commit.

    Both are read, modified and written: writers (the live indexer, a backfill) must take turns,
    or the one that commits second overwrites what the other wrote with what it read before.
    PostgreSQL: a transaction-level advisory lock (taken again by the same transaction, it is a
    no-op). SQLite: nothing to do, a writing transaction holds the database's lock from BEGIN.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK})"))


def apply(session: Session, changes: Changes) -> None:
    """Add ``changes`` to the stored totals, in the caller's transaction."""
    totals = {key: d for key, d in changes.totals.items() if any(d)}
    parties = {key: d for key, d in changes.parties.items() if d}
    if not totals and not parties:
        return
    take_turn(session)
    if not _apply_totals(session, totals) or not _apply_parties(session, parties):
        log.error("stream_totals_out_of_step", action="recomputed from the streams table")
        rebuild(session)


def _apply_totals(session: Session, deltas: dict[TotalKey, list[int]]) -> bool:
    keys = sorted(deltas)
    c = _TOTALS.c
    stored: dict[TotalKey, tuple[int, int, int]] = {}
    for start in range(0, len(keys), _CHUNK):
        query = select(
            *(c[name] for name in _TOTAL_KEY), c.streams, c.total_amount, c.withdrawn_amount
        )
        query = query.where(tuple_(*(c[n] for n in _TOTAL_KEY)).in_(keys[start : start + _CHUNK]))
        for row in session.execute(query):
            key = typing.cast(TotalKey, tuple(row[:5]))
            stored[key] = typing.cast(tuple[int, int, int], tuple(row[5:]))
    upserts: list[dict[str, Any]] = []
    gone: list[TotalKey] = []
    for key in keys:
        old = stored.get(key, (0, 0, 0))
        streams, total, withdrawn = (a + b for a, b in zip(old, deltas[key], strict=True))
        if streams < 0 or (streams == 0 and (total or withdrawn)):
            return False  # a change to a row the totals never counted
        if streams == 0:
            gone.append(key)
        else:
            upserts.append(_total_row(key, streams, total, withdrawn))
    _UPSERT_TOTALS.execute(session, upserts)
    for start in range(0, len(gone), _CHUNK):
        match = tuple_(*(c[n] for n in _TOTAL_KEY)).in_(gone[start : start + _CHUNK])
        session.execute(delete(_TOTALS).where(match))
    return True


def _apply_parties(session: Session, deltas: dict[PartyKey, int]) -> bool:
    c = _PARTIES.c
    upserts: list[dict[str, Any]] = []
    for role in ("sender", "receiver"):
        addresses = sorted(address for r, address in deltas if r == role)
        for start in range(0, len(addresses), _CHUNK):
            chunk = addresses[start : start + _CHUNK]
            stored = dict(
                session.execute(
                    select(c.address, c.streams).where(c.role == role, c.address.in_(chunk))
                ).all()
            )
            gone: list[str] = []
            for address in chunk:
                streams = stored.get(address, 0) + deltas[(role, address)]
                if streams < 0:
                    return False
                if streams == 0:
                    gone.append(address)
                else:
                    upserts.append({"role": role, "address": address, "streams": streams})
            if gone:
                session.execute(delete(_PARTIES).where(c.role == role, c.address.in_(gone)))
    _UPSERT_PARTIES.execute(session, upserts)
    return True


def rebuild(session: Session) -> None:
    """Recompute both tables from every ``streams`` row (after a bulk load, say)."""
    session.execute(delete(_TOTALS))
    session.execute(delete(_PARTIES))
    changes = Changes()
    columns = [
        Stream.contract_id,
        Stream.token,
        Stream.version,
        Stream.archived,
        Stream.cancelled,
        Stream.paused,
        Stream.end_time,
        Stream.total_amount,
        Stream.withdrawn_amount,
        Stream.sender,
        Stream.receiver,
    ]
    rows = session.execute(select(*columns).execution_options(yield_per=10_000)).mappings()
    for row in rows:
        changes.replace(None, typing.cast(Mapping[str, Any], row))
    _UPSERT_TOTALS.execute(
        session, [_total_row(key, *values) for key, values in changes.totals.items()]
    )
    _UPSERT_PARTIES.execute(
        session,
        ({"role": r, "address": a, "streams": n} for (r, a), n in changes.parties.items()),
    )


def _total_row(key: TotalKey, streams: int, total: int, withdrawn: int) -> dict[str, Any]:
    return dict(zip(_TOTAL_KEY, key, strict=True)) | {
        "streams": streams,
        "total_amount": total,
        "withdrawn_amount": withdrawn,
    }
