"""The ``/stats`` figures at an instant, read from the totals the projection keeps.

``projection.totals`` explains the tables: counts and sums per contract, token, version, state
and UTC end day, and the streams per party. Live streams whose end day is today are split by
reading ``streams`` (the ``end_time`` index).
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, case, func, literal, select
from sqlalchemy.orm import Session

from stellarstream.db.models import Stream, StreamParty, StreamTotal
from stellarstream.db.types import combine_sqlite_sum, sqlite_amount_sum
from stellarstream.projection.totals import DAY
from stellarstream.streams.view import StreamStatus

_TOTALS = typing.cast(Table, StreamTotal.__table__)


@dataclass(frozen=True, slots=True)
class TokenStats:
    token: str
    value_locked: int  # total - withdrawn over streams neither canceled nor archived
    total_volume: int
    streams: int


@dataclass(frozen=True, slots=True)
class Figures:
    """Counts per status at ``now``, per-token sums and distinct parties."""

    counts: dict[StreamStatus, int]
    tokens: list[TokenStats]
    unique_senders: int
    unique_receivers: int


def figures(session: Session, now: int, paused_contracts: Iterable[str]) -> Figures:
    """The ``/stats`` counts and sums at ``now`` (Unix seconds), from the totals.

    ``paused_contracts``: V2 contracts paused as a whole (their live streams are PAUSED).
    """
    paused = set(paused_contracts)
    today = now // DAY
    counts = dict.fromkeys(StreamStatus, 0)
    tokens: dict[str, list[int]] = {}  # token -> [streams, volume, locked]
    c = _TOTALS.c
    # Summed in the database by what the instant makes of each row (a few rows per token and
    # contract, however many end days): live rows ended before today, ending today or later.
    group = case(
        (c.state != "live", c.state),
        (c.end_day < today, literal("ended")),
        else_=literal("ahead"),
    )
    sqlite_sums = session.get_bind().dialect.name == "sqlite"
    sums = [
        sqlite_amount_sum(column) if sqlite_sums else [func.sum(column)]
        for column in (c.total_amount, c.withdrawn_amount)
    ]
    query = select(c.contract_id, c.token, c.version, group, func.sum(c.streams))
    query = query.add_columns(*sums[0], *sums[1]).group_by(c.contract_id, c.token, c.version, group)
    for row in session.execute(query):
        contract, token, version, state, n = row[0], row[1], row[2], row[3], int(row[4])
        parts: list[Any] = list(row[5:])
        width = len(parts) // 2
        total, withdrawn = (
            combine_sqlite_sum(list(p)) if sqlite_sums else int(p[0])
            for p in (parts[:width], parts[width:])
        )
        figures_of = tokens.setdefault(token, [0, 0, 0])
        figures_of[0] += n
        figures_of[1] += total
        if state == "archived":
            counts[StreamStatus.ARCHIVED] += n
            continue
        if state == "canceled":
            counts[StreamStatus.CANCELED] += n
            continue
        figures_of[2] += total - withdrawn
        if state == "paused" or (version == 2 and contract in paused):
            counts[StreamStatus.PAUSED] += n
        elif state == "ended":
            counts[StreamStatus.COMPLETED] += n
        else:  # today's are split below
            counts[StreamStatus.ACTIVE] += n
    # Live streams ending today, by now: COMPLETED (an index range of one day of end times).
    ended_today = (
        select(Stream.contract_id, Stream.version, func.count())
        .where(
            Stream.end_time >= today * DAY,
            Stream.end_time <= now,
            and_(Stream.archived.is_(False), Stream.cancelled.is_(False), Stream.paused.is_(False)),
        )
        .group_by(Stream.contract_id, Stream.version)
    )
    for contract, version, n in session.execute(ended_today):
        if not (version == 2 and contract in paused):
            counts[StreamStatus.ACTIVE] -= n
            counts[StreamStatus.COMPLETED] += n
    parties = dict(
        session.execute(select(StreamParty.role, func.count()).group_by(StreamParty.role)).all()
    )
    return Figures(
        counts=counts,
        tokens=[
            TokenStats(token, value_locked=locked, total_volume=volume, streams=n)
            for token, (n, volume, locked) in sorted(tokens.items())
        ],
        unique_senders=int(parties.get("sender", 0)),
        unique_receivers=int(parties.get("receiver", 0)),
    )
