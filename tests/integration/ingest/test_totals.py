"""The totals the projection keeps (projection.totals) always equal a recount of the streams, and
the /stats figures read from them equal each stream's status at any instant. Both databases."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.support import contract_events as ce

from stellarstream.chain.source import Batch
from stellarstream.chain.types import RawEvent
from stellarstream.db import migrate
from stellarstream.db.engine import make_engine
from stellarstream.db.models import Stream, StreamParty, StreamTotal
from stellarstream.ingest.record import ingest_batch
from stellarstream.projection.totals import DAY, rebuild
from stellarstream.streams import totals
from stellarstream.streams.service import StreamService
from stellarstream.streams.view import StreamStatus, status_of

V1, V2 = ce.V1_CONTRACT, ce.V2_CONTRACT
TOKENS = [ce.TOKEN, ce.contract(203)]
T0 = 20 * DAY + 5_000  # "now" in the middle of a day
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def history(seed: int, n: int = 40) -> list[RawEvent]:
    """V2 and V1 streams ending over several days (several today, one exactly at T0), with
    claims, top-ups and refills moving end days, cancels, archives, V1 pauses and resumes, and
    a contract-wide V2 pause and unpause; amounts above 2**63."""
    rng = random.Random(seed)
    events: list[RawEvent] = []
    ledger = 100

    def add(encoded: ce.Encoded, contract: str) -> None:
        nonlocal ledger
        ledger += 1
        events.append(
            ce.raw_event(
                *encoded, contract_id=contract, ledger=ledger, tx_hash=ce.tx_hash_for(ledger)
            )
        )

    admin = ce.account(99)
    for sid in range(n):
        sender, receiver = ce.account(1 + sid % 6), ce.account(10 + sid % 9)
        token = TOKENS[sid % 2]
        amount = 2**64 + sid if sid % 5 == 0 else 10**9 + sid
        end = T0 + rng.choice([-3 * DAY, -DAY, -1_000, -1, 0, 1, 1_000, DAY, 5 * DAY])
        start = end - 10 * DAY
        if sid % 4 == 3:
            add(ce.v1_create(sid, sender, receiver, token, amount, start, end, start), V1)
            if sid % 8 == 3:
                add(ce.v1_pause(sid, sender, start + 5), V1)
            if sid % 16 == 3:
                add(ce.v1_resume(sid, sender, 3, start + 9), V1)
            if rng.random() < 0.3:
                add(ce.v1_topup(sid, sender, 7, amount + 7, end + DAY, start + 11), V1)
            continue
        add(ce.create_v2(sid, sender, receiver, token, amount, start, start, end, start - 1), V2)
        add(ce.claim(sid, receiver, amount // 10, amount // 10, start + 100), V2)
        match rng.randrange(5):
            case 0:
                add(ce.top_up(sid, sender, amount, 2 * amount, end + DAY, start + 200), V2)
            case 1:
                add(ce.cancel(sid, sender, amount // 4, amount // 2, start + 300), V2)
            case 2:
                add(ce.archived(sid, amount, amount, sender, end + 1), V2)
            case 3:
                add(ce.refill(sid, sender, amount, end, end + 2 * DAY, start + 400), V2)
            case _:
                pass
        if sid == n // 2:
            add(ce.v2_pause(admin, start), V2)
        if sid == n // 2 + 5 and seed % 2:
            add(ce.v2_unpause(admin, start), V2)
    return events


def ingest(sessions: sessionmaker[Session], events: list[RawEvent], size: int) -> None:
    for start in range(0, len(events), size):
        chunk = events[start : start + size]
        batch = Batch(chunk, max(e.ledger for e in chunk), None, 10**6, "rpc")
        with sessions() as session, session.begin():
            ingest_batch(session, batch, [V1, V2], now=NOW)


def stored(session: Session) -> tuple[list[Any], list[Any]]:
    rows = session.execute(select(StreamTotal)).scalars()
    kept = sorted(
        (
            t.contract_id,
            t.token,
            t.version,
            t.state,
            t.end_day,
            t.streams,
            t.total_amount,
            t.withdrawn_amount,
        )
        for t in rows
    )
    parties = sorted((p.role, p.address, p.streams) for p in session.scalars(select(StreamParty)))
    return kept, parties


def recount(streams: list[Stream], now: int, paused: frozenset[str]) -> totals.Figures:
    counts = Counter(status_of(s, now, paused) for s in streams)
    by_token: dict[str, list[int]] = {}
    for s in streams:
        figures = by_token.setdefault(s.token, [0, 0, 0])
        figures[0] += 1
        figures[1] += s.total_amount
        if not (s.archived or s.cancelled):
            figures[2] += s.total_amount - s.withdrawn_amount
    return totals.Figures(
        counts={status: counts[status] for status in StreamStatus},
        tokens=[
            totals.TokenStats(t, value_locked=locked, total_volume=volume, streams=n)
            for t, (n, volume, locked) in sorted(by_token.items())
        ],
        unique_senders=len({s.sender for s in streams}),
        unique_receivers=len({s.receiver for s in streams}),
    )


@pytest.mark.parametrize(("seed", "order"), [(1, "in order"), (2, "in order"), (3, "shuffled")])
def test_kept_totals_equal_a_recount_and_the_figures_each_streams_status(
    sessions: sessionmaker[Session], seed: int, order: str
) -> None:
    events = history(seed)
    if order == "shuffled":  # out-of-order arrival: rows recomputed, deleted and re-created
        random.Random(seed).shuffle(events)
    ingest(sessions, events, size=random.Random(seed).randint(1, 12))
    service = StreamService(sessions, lambda: NOW, [V1, V2])
    with sessions() as session:
        kept = stored(session)
        streams = list(session.scalars(select(Stream)))
        paused = frozenset(service.paused_contracts(session))
        assert len(streams) == 40 and kept[0]
        assert (V2 in paused) == (seed % 2 == 0)
        for now in (T0 - DAY, T0 - 1, T0, T0 + 1, T0 + 999, T0 + 1_000, T0 + 2 * DAY, 0):
            assert totals.figures(session, now, paused) == recount(streams, now, paused), now
        # and as if no contract were paused
        assert totals.figures(session, T0, ()) == recount(streams, T0, frozenset())
    with sessions() as session, session.begin():
        rebuild(session)
    with sessions() as session:
        assert stored(session) == kept


def test_totals_out_of_step_are_recomputed(sessions: sessionmaker[Session]) -> None:
    ingest(sessions, history(4, n=8), size=5)
    with sessions() as session, session.begin():
        expected = stored(session)
        session.query(StreamTotal).delete()  # lost (say, a table restored from an old backup)
        session.query(StreamParty).delete()
    # One more claim of stream 0: its old row is taken out of totals that do not hold it.
    claim = ce.claim(0, ce.account(10), 1, 1, T0)
    later = ce.raw_event(*claim, contract_id=V2, ledger=10_000, tx_hash=ce.tx_hash_for(10_000))
    ingest(sessions, [later], size=1)
    with sessions() as session:
        after = stored(session)
    assert after[1] == expected[1]  # parties: recounted
    assert sum(row[5] for row in after[0]) == sum(row[5] for row in expected[0]) == 8
    with sessions() as session, session.begin():
        rebuild(session)
    with sessions() as session:
        assert stored(session) == after


def test_db_recount_command(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ingest(sessions, history(5, n=12), size=7)
    with sessions() as session, session.begin():
        expected = stored(session)
        session.query(StreamTotal).delete()  # rows loaded or edited by hand, say
    env = {k: v for k, v in os.environ.items() if not k.startswith("STELLARSTREAM_")}
    env |= {"STELLARSTREAM_DATABASE_URL": database_url, "STELLARSTREAM_VAR_DIR": str(tmp_path)}
    command = [str(Path(sys.executable).parent / "stellarstream"), "db", "recount"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "recounted 12 streams in 2 tokens" in result.stdout
    with sessions() as session:
        assert stored(session) == expected


def test_migration_counts_the_streams_a_database_already_holds(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    ingest(sessions, history(6, n=16), size=9)
    with sessions() as session:
        kept = stored(session)
    engine = make_engine(database_url)
    try:
        migrate.downgrade(engine, "0006")  # a database from before the totals, with streams
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    with sessions() as session:
        assert stored(session) == kept and kept[0] and kept[1]
