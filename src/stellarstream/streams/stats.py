"""Figures over every stream (``/stats``) and the indexer's progress per contract."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stellarstream.chain.source import LIVE_SOURCE
from stellarstream.db import coverage
from stellarstream.db.models import SyncState
from stellarstream.streams import totals
from stellarstream.streams.cache import VersionedCache
from stellarstream.streams.pause import paused_contracts
from stellarstream.streams.queries import DATA_VERSION
from stellarstream.streams.totals import TokenStats
from stellarstream.streams.view import StreamStatus


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


# The version and the live checkpoint's ledgers in one round trip (an aggregate: always a row).
_STATS_PROBE = select(
    DATA_VERSION, func.max(SyncState.ledger), func.max(SyncState.latest_ledger)
).where(SyncState.source == LIVE_SOURCE)


def stats(session: Session, cache: VersionedCache[Stats] | None, now: Callable[[], int]) -> Stats:
    """Counts and sums over every stream, computed at ``as_of``; the indexer's ledgers now.

    With a stats cache, the counts and sums last computed in this process are served again
    while the data version (``queries.DATA_VERSION``) is unchanged and they are at most its
    max age old. The ledgers (a few checkpoint rows) are read on every request: the live
    indexer moves them on every poll, new events or not, and they must not make the counts
    be recomputed.
    """
    if cache is None or cache.max_age_seconds <= 0:
        return _compute(session, now())
    # One round trip on a cache hit; the version is read first: see VersionedCache.get.
    version, latest, network = session.execute(_STATS_PROBE).one()
    figures = cache.get(int(version), lambda at: _compute(session, int(at)))
    return replace(figures, latest_ledger=latest, network_latest_ledger=network or None)


def _ledgers(session: Session) -> tuple[int | None, int | None]:
    """The live checkpoint's ledger and the network's latest ledger it last saw."""
    states = session.execute(
        select(SyncState.ledger, SyncState.latest_ledger).where(SyncState.source == LIVE_SOURCE)
    ).all()
    latest = max((ledger for ledger, _ in states), default=None)
    network = max((seen or 0 for _, seen in states), default=None) or None
    return latest, network


def _compute(session: Session, now: int) -> Stats:
    # From the totals the projection keeps (streams.totals): a few hundred rows and the
    # streams ending today, not a scan of every stream.
    figures = totals.figures(session, now, paused_contracts(session))
    counts = figures.counts
    latest, network = _ledgers(session)
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


def sync_status(session: Session, contract_ids: list[str]) -> list[SyncStatus]:
    """Per contract (configured or checkpointed): the live checkpoint and the stored gaps."""
    states = {
        s.contract_id: s
        for s in session.scalars(select(SyncState).where(SyncState.source == LIVE_SOURCE))
    }
    out = []
    for c in sorted(set(contract_ids) | set(states)):
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
