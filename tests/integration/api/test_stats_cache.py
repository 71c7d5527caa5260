"""/stats served from a worker's cache: within STATS_MAX_AGE_SECONDS, invalidated by any stored
event, ``asOf`` the time of computation, the indexer's ledgers always current; 0 turns it off.
Both databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support import contract_events as ce
from tests.support.clock import FakeClock
from tests.support.seed import ingest_events
from tests.support.server import serve

from stellarstream.api.app import create_app
from stellarstream.chain.source import Batch
from stellarstream.chain.types import RawEvent
from stellarstream.config import Settings, load_settings
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.ingest import checkpoint
from stellarstream.ingest.record import ingest_batch

C = ce.V2_CONTRACT
API = "/api/v1"
SENDER, RECEIVER, ADMIN = ce.account(1), ce.account(2), ce.account(3)
T0 = 50_000


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.fromtimestamp(T0, UTC))


@contextmanager
def api_with(
    tmp_path: Path, database_url: str, clock: FakeClock, max_age: float
) -> Iterator[tuple[httpx.Client, Settings]]:
    settings = load_settings(
        _env_file=None,
        var_dir=tmp_path / "var",
        database_url=database_url,
        contract_ids=C,
        stats_max_age_seconds=max_age,
    )
    with (
        serve(create_app(settings, clock=clock)) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield client, settings


def stream(n: int, *, end: int, ledger: int) -> RawEvent:
    return ce.raw_event(
        *ce.create_v2(n, SENDER, RECEIVER, ce.TOKEN, 1000, T0 - 100, T0 - 100, end, T0 - 105),
        contract_id=C,
        ledger=ledger,
        tx_hash=ce.tx_hash_for(1000 + n),
    )


def store_without_checkpoint(database_url: str, events: list[RawEvent]) -> None:
    """Store events the way a historical sync batch would, but move no checkpoint or range:
    only ``contract_events`` (and the streams projected from them) change."""
    engine = make_engine(database_url)
    try:
        top = max(e.ledger for e in events)
        batch = Batch(events, covered_to=top, cursor=None, latest_ledger=top, source="rpc")
        with make_sessionmaker(engine).begin() as session:
            ingest_batch(session, batch, [C], now=datetime.now(UTC))
    finally:
        engine.dispose()


def stats(api: httpx.Client) -> dict[str, Any]:
    response = api.get(f"{API}/stats")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_figures_are_served_from_the_cache_within_max_age_and_as_of_their_computation(
    tmp_path: Path, database_url: str, clock: FakeClock
) -> None:
    with api_with(tmp_path, database_url, clock, max_age=20) as (api, settings):
        ingest_events(settings.resolved_database_url, [stream(0, end=T0 + 5, ledger=10)], [C])
        first = stats(api)
        assert (first["active"], first["completed"], first["asOf"]) == (1, 0, T0)

        # The stream ends at T0 + 5; 6 s later it is COMPLETED, but the figures computed at T0
        # are still fresh (under half their 20 s) and nothing was stored: served as they were.
        clock.advance(6)
        assert stats(api) == first

        clock.advance(15)  # 21 s old: computed again, as of now
        again = stats(api)
        assert (again["active"], again["completed"], again["asOf"]) == (0, 1, T0 + 21)


def test_a_newly_stored_event_invalidates_the_cached_figures(
    tmp_path: Path, database_url: str, clock: FakeClock
) -> None:
    with api_with(tmp_path, database_url, clock, max_age=600) as (api, settings):
        url = settings.resolved_database_url
        ingest_events(url, [stream(0, end=T0 + 5000, ledger=10)], [C], latest_ledger=20)
        first = stats(api)
        assert (first["total"], first["active"], first["asOf"]) == (1, 1, T0)
        clock.advance(3)
        assert stats(api) == first  # cached

        # A new stream stored by a batch that moves no checkpoint: counted at once.
        store_without_checkpoint(url, [stream(1, end=T0 + 5000, ledger=11)])
        second = stats(api)
        assert (second["total"], second["active"], second["asOf"]) == (2, 2, T0 + 3)

        # A contract-wide event that touches no stream row: the pause state changes too.
        clock.advance(2)
        pause = ce.raw_event(
            *ce.v2_pause(ADMIN, T0), contract_id=C, ledger=12, tx_hash=ce.tx_hash_for(12)
        )
        store_without_checkpoint(url, [pause])
        third = stats(api)
        assert (third["paused"], third["active"], third["asOf"]) == (2, 0, T0 + 5)


def test_the_indexer_ledgers_are_current_while_the_counts_are_cached(
    tmp_path: Path, database_url: str, clock: FakeClock
) -> None:
    with api_with(tmp_path, database_url, clock, max_age=600) as (api, settings):
        url = settings.resolved_database_url
        ingest_events(url, [stream(0, end=T0 + 5, ledger=10)], [C], latest_ledger=20)
        first = stats(api)
        assert (first["indexerLatestLedger"], first["networkLatestLedger"]) == (10, 20)

        # The indexer polls: no new event, but its checkpoint and the network's ledger move.
        engine = make_engine(url)
        try:
            with make_sessionmaker(engine).begin() as session:
                checkpoint.advance(
                    session, [C], "rpc", 25, None, datetime.now(UTC), latest_ledger=30
                )
        finally:
            engine.dispose()
        clock.advance(10)  # the stream has ended, but the counts are cached (asOf T0)
        moved = stats(api)
        assert (moved["indexerLatestLedger"], moved["networkLatestLedger"]) == (25, 30)
        assert moved["lagLedgers"] == 5
        assert (moved["active"], moved["completed"], moved["asOf"]) == (1, 0, T0)


def test_zero_max_age_computes_on_every_request(
    tmp_path: Path, database_url: str, clock: FakeClock
) -> None:
    with api_with(tmp_path, database_url, clock, max_age=0) as (api, settings):
        ingest_events(settings.resolved_database_url, [stream(0, end=T0 + 5, ledger=10)], [C])
        first = stats(api)
        assert (first["active"], first["completed"], first["asOf"]) == (1, 0, T0)
        clock.advance(1)
        assert stats(api)["asOf"] == T0 + 1
        clock.advance(5)
        later = stats(api)
        assert (later["active"], later["completed"], later["asOf"]) == (0, 1, T0 + 6)
