"""Live updates fan out: one read per wake-up per worker, whatever the number of clients."""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack

import httpx
import pytest
from tests.integration.api.test_streams import (
    API,
    RECEIVER,
    C,
    chain_settings,
    one_stream,
    read_event,
    seed,
    sid,
)
from tests.support import contract_events as ce
from tests.support.clock import FakeClock
from tests.support.server import serve

from stellarstream.api.app import create_app
from stellarstream.config import Settings
from stellarstream.streams import feed as feed_module
from stellarstream.streams.feed import ChangeFeed, Message

__all__ = ["chain_settings"]  # the fixture, shared with test_streams


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _claim(ledger: int) -> object:
    return ce.raw_event(
        *ce.claim(0, RECEIVER, ledger, ledger, 1200),
        contract_id=C,
        ledger=ledger,
        tx_hash=ce.tx_hash_for(ledger),
    )


def _reads_over(feed: ChangeFeed, seconds: float) -> int:
    before = feed.reads
    time.sleep(seconds)
    return feed.reads - before


def test_thirty_clients_get_the_event_from_one_read(
    chain_settings: Settings, clock: FakeClock
) -> None:
    seed(chain_settings, [one_stream(0, end=90_000)])
    fast = chain_settings.model_copy(update={"live_poll_seconds": 0.1})
    app = create_app(fast, clock=clock)
    with serve(app) as url, httpx.Client(timeout=10) as http, ExitStack() as stack:
        feed: ChangeFeed = app.state.feed
        first = stack.enter_context(http.stream("GET", f"{url}{API}/streams/{sid(0)}/live"))
        lines = [first.iter_lines()]
        assert next(lines[0]).startswith("retry:")
        alone = _reads_over(feed, 1.0)
        for n in range(29):
            path = f"{API}/live" if n % 2 else f"{API}/streams/{sid(0)}/live"
            response = stack.enter_context(http.stream("GET", f"{url}{path}"))
            lines.append(response.iter_lines())
            assert next(lines[-1]).startswith("retry:")
        assert feed.subscribers == 30
        crowded = _reads_over(feed, 1.0)
        # The same wake-ups with 30 clients as with one: reads do not grow with clients.
        assert crowded <= alone + 3, (alone, crowded)
        seed(chain_settings, [_claim(50)])
        deadline = time.monotonic() + 10
        got = [read_event(each, deadline)[1] for each in lines]
    assert all(m["event"]["type"] == "claim" and m["event"]["ledger"] == 50 for m in got)
    assert all(m["stream"]["withdrawnAmount"] == "50" for m in got)


@pytest.mark.postgres
def test_postgres_notify_wakes_the_feed_long_before_its_poll(
    chain_settings: Settings, clock: FakeClock
) -> None:
    if not chain_settings.resolved_database_url.startswith("postgresql"):
        pytest.skip("NOTIFY is PostgreSQL's; SQLite polls")
    seed(chain_settings, [one_stream(0, end=90_000)])
    slow = chain_settings.model_copy(update={"live_poll_seconds": 30})
    with (
        serve(create_app(slow, clock=clock)) as url,
        httpx.Client(timeout=10) as http,
        http.stream("GET", f"{url}{API}/streams/{sid(0)}/live") as response,
    ):
        lines = response.iter_lines()
        assert next(lines).startswith("retry:")
        time.sleep(0.5)  # the feed's LISTEN is in place
        started = time.monotonic()
        seed(chain_settings, [_claim(51)])
        _, message = read_event(lines, started + 5)
    assert message["event"]["ledger"] == 51
    assert time.monotonic() - started < 5  # woken by NOTIFY, not by the 30 s poll


def test_a_subscriber_too_far_behind_is_told_to_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_module, "QUEUE_LIMIT", 2)

    async def run() -> list[Message | None]:
        feed = ChangeFeed(lambda after: ([], after), lambda: 0, 1.0, None)
        slow = feed.subscribe(None, None)
        for n in range(1, 4):
            feed._deliver(Message(n, (C, 0), frozenset(), f"m{n}".encode()))
        assert feed.subscribers == 0  # dropped on the third
        return [slow.queue.get_nowait(), slow.queue.get_nowait()]

    first, last = asyncio.run(run())
    assert first is not None and first.id == 2  # the oldest made room for the marker
    assert last is None  # the end-of-stream marker: the client resumes from the database
