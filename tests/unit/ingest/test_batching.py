"""Pages joined into larger batches: sizes, the time limit, order, and errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support import contract_events as ce
from tests.support.chain_data import stream_history

from stellarstream.chain.decode import decode
from stellarstream.chain.source import Batch
from stellarstream.errors import SourceError
from stellarstream.ingest.backfill.batching import joined

EVENTS = stream_history(10)  # 40 events


def pages(size: int, fail_after: int | None = None) -> Iterator[Batch]:
    for number, start in enumerate(range(0, len(EVENTS), size)):
        if fail_after is not None and number == fail_after:
            raise SourceError("node went away")
        chunk = EVENTS[start : start + size]
        yield Batch(chunk, chunk[-1].ledger, f"cursor-{number}", 10**6, "rpc")


def test_pages_are_joined_up_to_max_events_in_order() -> None:
    out = list(joined(pages(5), max_events=10, max_seconds=60))
    assert [len(b.events) for b in out] == [10, 10, 10, 10]
    assert [e for b in out for e in b.events] == EVENTS
    assert out[0].cursor == "cursor-1" and out[0].covered_to == EVENTS[9].ledger
    assert out[-1].cursor == "cursor-7" and out[-1].source == "rpc"


def test_a_page_larger_than_a_batch_is_cut_and_its_rest_starts_the_next() -> None:
    # pages of 4 into batches of 10: pages 2 and 7 are cut after 2 events
    out = list(joined(pages(4), max_events=10, max_seconds=60))
    assert [len(b.events) for b in out] == [10, 10, 10, 10]
    assert [e for b in out for e in b.events] == EVENTS
    # Cut inside a page: covered up to the ledger before the first event left over, and no
    # cursor (a page's cursor resumes after the whole page).
    assert [b.cursor for b in out] == [None, "cursor-4", None, "cursor-9"]
    assert out[0].covered_to == EVENTS[10].ledger - 1
    assert out[2].covered_to == EVENTS[30].ledger - 1
    assert [b.covered_to for b in (out[1], out[3])] == [EVENTS[19].ledger, EVENTS[39].ledger]


def test_one_large_page_becomes_batches_of_max_events_with_their_decoding() -> None:
    decoded = [decode(raw) for raw in EVENTS]
    page = Batch(EVENTS, 10**5, "end", 10**6, "rpc", decoded)
    out = list(joined([page], max_events=15, max_seconds=60))
    assert [len(b.events) for b in out] == [15, 15, 10]
    assert [e for b in out for e in b.events] == EVENTS
    assert [e for b in out for e in b.decoded or ()] == decoded
    assert [b.covered_to for b in out] == [EVENTS[15].ledger - 1, EVENTS[30].ledger - 1, 10**5]
    assert [b.cursor for b in out] == [None, None, "end"]


def test_pages_without_decoding_make_batches_without_it() -> None:
    first = Batch(EVENTS[:3], 1, "a", 10**6, "rpc", [decode(raw) for raw in EVENTS[:3]])
    second = Batch(EVENTS[3:6], 2, "b", 10**6, "rpc")
    (one,) = joined([first, second], max_events=10, max_seconds=60)
    assert one.events == EVENTS[:6] and one.decoded is None


def test_a_slow_source_still_yields_after_max_seconds() -> None:
    ticks = iter(range(100))
    out = list(joined(pages(4), max_events=1_000, max_seconds=2, clock=lambda: next(ticks)))
    assert [len(b.events) for b in out] == [8, 8, 8, 8, 8]  # two pages each


def test_covered_to_never_goes_back() -> None:
    first = Batch(EVENTS[:2], 500, "a", 10**6, "rpc")
    second = Batch([], 400, "b", 10**6, "rpc")  # a source may report less; the join keeps 500
    (one,) = joined([first, second], max_events=10, max_seconds=60)
    assert one.covered_to == 500 and one.cursor == "b"


def test_what_was_fetched_before_an_error_is_yielded_first() -> None:
    seen: list[Batch] = []
    with pytest.raises(SourceError):
        for batch in joined(pages(4, fail_after=3), max_events=100, max_seconds=60):
            seen.append(batch)
    assert [len(b.events) for b in seen] == [12]
    assert seen[0].events == EVENTS[:12]  # three pages, under max_events


def test_single_page_is_passed_through() -> None:
    page = Batch(EVENTS[:3], 7, None, 9, ce.V2_CONTRACT)
    assert list(joined([page])) == [page]
